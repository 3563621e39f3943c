import { createHash } from 'node:crypto';
import type { AllMiddlewareArgs, AnyMiddlewareArgs, Middleware } from '@slack/bolt';
import { z } from 'zod';
import type { Deps } from '../../../use-cases/deps';

/** The context property the HTTP receiver fills with the request's signed timestamp. */
export const REQUEST_TIMESTAMP = 'slackRequestTimestamp';

const CommandBody = z.object({
  command: z.string().max(100),
  trigger_id: z.string().min(1).max(300).optional(),
  team_id: z.string().max(100).default(''),
  channel_id: z.string().max(100).default(''),
  user_id: z.string().max(100).default(''),
  text: z.string().default(''),
});

const ClickBody = z.object({
  type: z.literal('block_actions'),
  user: z.object({ id: z.string().min(1).max(100) }),
  container: z.object({ message_ts: z.string().max(100).optional() }).passthrough().nullish(),
  message: z.object({ ts: z.string().max(100) }).passthrough().nullish(),
  actions: z.array(z.object({ action_id: z.string().max(300), action_ts: z.string().min(1).max(100) }).passthrough()).min(1),
});

/**
 * What makes a command or click one and the same request however often Slack (or anyone
 * holding a signed copy) sends it: the trigger_id of a command, else its content with the
 * signed timestamp; the action, message, user and action_ts of a click. Undefined when the
 * request carries nothing that tells a replay from a second, deliberate request.
 */
export function replayKey(body: unknown, requestTimestamp: string | undefined): string | undefined {
  const command = CommandBody.safeParse(body);
  if (command.success) {
    const c = command.data;
    if (c.trigger_id) return `cmd:${c.trigger_id}`;
    if (!requestTimestamp) return undefined;
    const digest = createHash('sha256').update(JSON.stringify([c.team_id, c.channel_id, c.user_id, c.command, c.text, requestTimestamp])).digest('hex');
    return `cmd#${digest}`;
  }
  const click = ClickBody.safeParse(body);
  if (click.success) {
    const b = click.data;
    const messageTs = b.message?.ts ?? b.container?.message_ts ?? '';
    const action = b.actions[0];
    if (!action) return undefined;
    return `click:${action.action_id}:${messageTs}:${b.user.id}:${action.action_ts}`;
  }
  return undefined;
}

/**
 * Global middleware: a command or click already handled (a replay, or Slack's retry after a
 * slow ack) is acked and goes no further, so nothing runs twice. The keys live in the store,
 * so this holds across a restart.
 */
export function dedupeReplays(deps: Deps): Middleware<AnyMiddlewareArgs> {
  return async (args: AnyMiddlewareArgs & AllMiddlewareArgs): Promise<void> => {
    const stamp = args.context[REQUEST_TIMESTAMP];
    const key = replayKey(args.body, typeof stamp === 'string' ? stamp : undefined);
    if (key !== undefined) {
      let first = true;
      try {
        first = deps.store.seen.firstSighting(key, deps.clock());
      } catch (err) {
        // Fails open: whatever a request would change needs the same store, and refuses there.
        deps.logger.warn({ err }, 'could not record a Slack request for de-duplication');
      }
      if (!first) {
        const kind = key.startsWith('click:') ? 'click' : 'command';
        deps.logger.info({ kind, retryNum: args.context.retryNum }, 'repeated Slack request ignored');
        if (kind === 'click') deps.metrics.actions.inc({ action: 'repeated', outcome: 'ignored' });
        else deps.metrics.commands.inc({ command: 'repeated', outcome: 'ignored' });
        if ('ack' in args && typeof args.ack === 'function') await (args.ack as () => Promise<void>)();
        return;
      }
    }
    await args.next();
  };
}
