import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { parseBlocks } from './block-limits';
import { BOT_ID, BOT_USER_ID } from './defaults';
import type { Block, ResponseContext } from './types';
import type { Workspace } from './workspace';

/** Slack lets an app use a response_url five times; more is refused, so the fake refuses too. */
export const RESPONSE_URL_MAX_USES = 5;

const ResponseBody = z.looseObject({
  text: z.string().optional(),
  blocks: z.unknown().optional(),
  response_type: z.enum(['ephemeral', 'in_channel']).optional(),
  replace_original: z.boolean().optional(),
  delete_original: z.boolean().optional(),
  thread_ts: z.string().optional(),
});

export interface ResponseOutcome {
  status: number;
  body: Record<string, unknown>;
  /** The parsed request body, when the id was known and the body was JSON, for the record. */
  recorded?: { ctx: ResponseContext; body: Record<string, unknown> };
}

interface Registration {
  ctx: ResponseContext;
  uses: number;
}

/**
 * response_url endpoints: minted per slash command or click, each bound to the user and channel
 * (and the clicked message) it came from. What is posted to one is applied with Slack's rules:
 * delete or replace the original, a message in the channel, or else an ephemeral to that user.
 */
export class ResponseUrls {
  private readonly registrations = new Map<string, Registration>();

  constructor(private readonly workspace: Workspace) {}

  mint(ctx: ResponseContext): string {
    const id = randomBytes(9).toString('hex');
    this.registrations.set(id, { ctx: { ...ctx }, uses: 0 });
    return id;
  }

  receive(id: string, rawBody: string): ResponseOutcome {
    const registration = this.registrations.get(id);
    if (registration === undefined) return { status: 404, body: { ok: false, error: 'expired_url' } };
    let json: unknown;
    try {
      json = JSON.parse(rawBody);
    } catch {
      return { status: 400, body: { ok: false, error: 'invalid_payload' } };
    }
    const parsed = ResponseBody.safeParse(json);
    if (!parsed.success) return { status: 400, body: { ok: false, error: 'invalid_payload' } };
    const recorded = { ctx: registration.ctx, body: parsed.data };
    registration.uses += 1;
    if (registration.uses > RESPONSE_URL_MAX_USES) return { status: 404, body: { ok: false, error: 'used_url' }, recorded };

    let blocks: Block[] | undefined;
    if (parsed.data.blocks !== undefined) {
      const checked = parseBlocks(parsed.data.blocks);
      if ('error' in checked) return { status: 400, body: { ok: false, error: checked.error, errors: checked.messages ?? [] }, recorded };
      blocks = checked.blocks;
    }
    const error = this.apply(registration.ctx, parsed.data, blocks);
    return error === undefined
      ? { status: 200, body: { ok: true }, recorded }
      : { status: 404, body: { ok: false, error }, recorded };
  }

  reset(): void {
    this.registrations.clear();
  }

  private apply(ctx: ResponseContext, body: z.infer<typeof ResponseBody>, blocks: Block[] | undefined): string | undefined {
    const ws = this.workspace;
    const text = body.text ?? '';
    const target = ctx.messageTs;
    if (body.delete_original === true && target !== undefined) {
      const deleted = ctx.isEphemeral === true ? ws.deleteEphemeral(ctx.user, target) : ws.deleteMessage(ctx.channel, target);
      return deleted ? undefined : 'message_not_found';
    }
    if (text === '' && (blocks?.length ?? 0) === 0) return 'no_text';
    if (body.replace_original === true && target !== undefined) {
      const content = { text, ...(blocks === undefined ? {} : { blocks }) };
      const replaced =
        ctx.isEphemeral === true
          ? ws.replaceEphemeral(ctx.user, target, content)
          : ws.updateMessage(ctx.channel, target, content, false);
      return replaced === undefined ? 'message_not_found' : undefined;
    }
    if (body.response_type === 'in_channel') {
      const threadTs = body.thread_ts ?? ctx.threadTs;
      ws.postMessage({
        channel: ctx.channel,
        user: BOT_USER_ID,
        bot_id: BOT_ID,
        text,
        ...(blocks === undefined ? {} : { blocks }),
        ...(threadTs === undefined ? {} : { thread_ts: threadTs }),
      });
      return undefined;
    }
    ws.postEphemeral({
      channel: ctx.channel,
      user: ctx.user,
      from: BOT_USER_ID,
      text,
      ...(blocks === undefined ? {} : { blocks }),
      ...(ctx.threadTs === undefined ? {} : { thread_ts: ctx.threadTs }),
      source: 'response_url',
    });
    return undefined;
  }
}
