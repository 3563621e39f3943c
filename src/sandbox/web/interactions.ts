import { z } from 'zod';
import { BOT_ID, BOT_USER_ID, SLACKBOT_USER_ID, type Block, type FakeSlack, type SlackChannel, type SlackUser } from '../fake-slack';
import { parseBlocks } from '../fake-slack/block-limits';
import { blockActionsBody, sendSignedRequest, slashCommandBody, type DeliveryResult } from '../slack-requests';
import { findButton } from './find-button';

export interface InteractionDeps {
  fakeSlack: FakeSlack;
  signingSecret: string;
  eventsUrl: string;
  teamId?: string;
  /** Slack waits 3 seconds for the ack; a test of a slow bot may shorten it. */
  ackTimeoutMs?: number;
}

export const CommandInput = z.object({
  user: z.string().min(1),
  channel: z.string().min(1),
  text: z.string().max(4000),
});

export const ActionInput = z.object({
  user: z.string().min(1),
  channel: z.string().min(1),
  messageTs: z.string().min(1),
  actionId: z.string().min(1),
  blockId: z.string().min(1).optional(),
  value: z.string().optional(),
});

export const MessageInput = z.object({
  user: z.string().min(1),
  channel: z.string().min(1),
  // Slack's own limit for a message typed into the composer.
  text: z.string().min(1).max(40_000),
});

export interface InteractionOutcome {
  /** HTTP status for the sandbox page: 200 when the bot acknowledged, 4xx for a bad click, 502 otherwise. */
  httpStatus: number;
  ok: boolean;
  error?: string;
  /** The bot's answer to Slack's request, when there was one. */
  botStatus?: number;
  ack?: unknown;
}

const COMMAND = '/pgbackup';

/** What a slash command's ack may say; anything else in it is ignored, as Slack does. */
const AckMessage = z.looseObject({
  text: z.string().optional(),
  blocks: z.unknown().optional(),
  response_type: z.enum(['ephemeral', 'in_channel']).optional(),
});

function resolvePeople(fake: FakeSlack, userRef: string, channelRef: string): { user: SlackUser; channel: SlackChannel } | InteractionOutcome {
  const user = fake.workspace.findUser(userRef);
  if (user === undefined || user.isBot) return { httpStatus: 400, ok: false, error: `unknown user ${userRef}` };
  const channel = fake.workspace.findChannel(channelRef);
  if (channel === undefined) return { httpStatus: 400, ok: false, error: `unknown channel ${channelRef}` };
  return { user, channel };
}

export async function deliver(deps: InteractionDeps, body: string, contentType?: 'application/json'): Promise<DeliveryResult | { failure: string }> {
  try {
    return await sendSignedRequest(deps.eventsUrl, body, deps.signingSecret, { timeoutMs: deps.ackTimeoutMs ?? 3000, ...(contentType ? { contentType } : {}) });
  } catch (error) {
    // Slack's own wording for an app that is too slow or unreachable.
    const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
    return { failure: timedOut ? 'operation_timeout' : 'dispatch_failed' };
  }
}

/** Slack answers a failed command with a Slackbot notice that only the invoker sees. */
function commandFailed(fake: FakeSlack, user: SlackUser, channel: SlackChannel, error: string, botStatus?: number): InteractionOutcome {
  fake.workspace.postEphemeral({
    channel: channel.id,
    user: user.id,
    from: SLACKBOT_USER_ID,
    text: `${COMMAND} failed with the error "${error}"`,
    source: 'slack',
  });
  return { httpStatus: 502, ok: false, error, ...(botStatus === undefined ? {} : { botStatus }) };
}

function parseAck(result: DeliveryResult): unknown {
  if (result.body.trim() === '') return undefined;
  if (result.contentType.includes('json') || result.body.trimStart().startsWith('{')) {
    try {
      return JSON.parse(result.body) as unknown;
    } catch {
      return result.body;
    }
  }
  return result.body;
}

/** Shows the ack's message the way Slack would: ephemeral to the invoker, or in the channel. */
function showAck(fake: FakeSlack, user: SlackUser, channel: SlackChannel, ack: unknown): string | undefined {
  if (ack === undefined) return undefined;
  const message = typeof ack === 'string' ? { text: ack } : AckMessage.safeParse(ack).data;
  if (message === undefined) return 'invalid_ack';
  let blocks: Block[] | undefined;
  if (message.blocks !== undefined) {
    const parsed = parseBlocks(message.blocks);
    if ('error' in parsed) return parsed.error;
    blocks = parsed.blocks;
  }
  const text = message.text ?? '';
  if (text === '' && (blocks?.length ?? 0) === 0) return undefined;
  const content = { text, ...(blocks === undefined ? {} : { blocks }) };
  if (message.response_type === 'in_channel') {
    fake.workspace.postMessage({ channel: channel.id, user: BOT_USER_ID, bot_id: BOT_ID, ...content });
  } else {
    fake.workspace.postEphemeral({ channel: channel.id, user: user.id, from: BOT_USER_ID, ...content, source: 'ack' });
  }
  return undefined;
}

function commandText(raw: string): string {
  const trimmed = raw.trim();
  // People type the command itself into the box; Slack hands the app only what follows it.
  return trimmed === COMMAND || trimmed.startsWith(`${COMMAND} `) ? trimmed.slice(COMMAND.length).trim() : trimmed;
}

export async function runSlashCommand(deps: InteractionDeps, input: z.infer<typeof CommandInput>): Promise<InteractionOutcome> {
  const fake = deps.fakeSlack;
  const who = resolvePeople(fake, input.user, input.channel);
  if ('httpStatus' in who) return who;
  const { user, channel } = who;
  const body = slashCommandBody({
    user: { id: user.id, name: user.name },
    channel: { id: channel.id, name: channel.name },
    text: commandText(input.text),
    responseUrl: fake.responseUrlFor({ user: user.id, channel: channel.id }),
    // Minted by the fake, so a modal the bot opens with it shows on this person's screen.
    triggerId: fake.views.mintTrigger({ user: user.id, channel: channel.id }),
    teamId: deps.teamId ?? fake.workspace.team.id,
    teamDomain: fake.workspace.team.domain,
  });
  const result = await deliver(deps, body);
  if ('failure' in result) return commandFailed(fake, user, channel, result.failure);
  if (result.status !== 200) return commandFailed(fake, user, channel, 'dispatch_failed', result.status);
  const ack = parseAck(result);
  const invalid = showAck(fake, user, channel, ack);
  if (invalid !== undefined) return commandFailed(fake, user, channel, invalid, result.status);
  return { httpStatus: 200, ok: true, botStatus: result.status, ack };
}

/** Slack stores a person's message with these three escaped; the page decodes them to show it. */
function slackEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * Text typed without a leading `/` is an ordinary message from that person, as in Slack: it
 * goes into the channel and never reaches the bot (it subscribes to no message events).
 */
export function postPlainMessage(fake: FakeSlack, input: z.infer<typeof MessageInput>): InteractionOutcome {
  const who = resolvePeople(fake, input.user, input.channel);
  if ('httpStatus' in who) return who;
  if (!who.channel.members.includes(who.user.id)) return { httpStatus: 403, ok: false, error: 'not_in_channel' };
  fake.workspace.postMessage({ channel: who.channel.id, user: who.user.id, text: slackEscape(input.text) });
  return { httpStatus: 200, ok: true };
}

export async function runBlockAction(deps: InteractionDeps, input: z.infer<typeof ActionInput>): Promise<InteractionOutcome> {
  const fake = deps.fakeSlack;
  const who = resolvePeople(fake, input.user, input.channel);
  if ('httpStatus' in who) return who;
  const { user, channel } = who;
  const inChannel = fake.workspace.findMessage(channel.id, input.messageTs);
  const ephemeral = inChannel === undefined ? fake.workspace.findEphemeral(user.id, input.messageTs) : undefined;
  const source = inChannel ?? ephemeral;
  if (source === undefined) return { httpStatus: 404, ok: false, error: 'message_not_found' };
  const button = findButton(source.blocks ?? [], input.actionId, input.blockId);
  if (button === undefined) return { httpStatus: 404, ok: false, error: 'button_not_found' };

  const threadTs = source.thread_ts;
  const isEphemeral = inChannel === undefined;
  const body = blockActionsBody({
    user: { id: user.id, name: user.name },
    channel: { id: channel.id, name: channel.name },
    messageTs: source.ts,
    isEphemeral,
    ...(threadTs === undefined ? {} : { threadTs }),
    // Slack sends the message along only when it is a real one, not an ephemeral.
    ...(inChannel === undefined
      ? {}
      : {
          message: {
            ts: inChannel.ts,
            text: inChannel.text,
            blocks: inChannel.blocks ?? [],
            user: inChannel.user,
            ...(inChannel.bot_id === undefined ? {} : { botId: inChannel.bot_id }),
            ...(threadTs === undefined ? {} : { threadTs }),
          },
        }),
    responseUrl: fake.responseUrlFor({
      user: user.id,
      channel: channel.id,
      messageTs: source.ts,
      isEphemeral,
      ...(threadTs === undefined ? {} : { threadTs }),
    }),
    action: { ...button, ...(input.value === undefined ? {} : { value: input.value }) },
    triggerId: fake.views.mintTrigger({ user: user.id, channel: channel.id }),
    teamId: deps.teamId ?? fake.workspace.team.id,
    teamDomain: fake.workspace.team.domain,
  });
  const result = await deliver(deps, body);
  if ('failure' in result) return { httpStatus: 502, ok: false, error: result.failure };
  if (result.status !== 200) return { httpStatus: 502, ok: false, error: 'dispatch_failed', botStatus: result.status };
  return { httpStatus: 200, ok: true, botStatus: result.status };
}
