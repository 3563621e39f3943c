import { z } from 'zod';
import { parseMessageContent, type ContentError } from './block-limits';
import { BOT_ID, BOT_NAME, BOT_USER_ID } from './defaults';
import type { ChannelRateLimiter } from './rate-limiter';
import type { MessageMetadata, SlackChannel, StoredMessage } from './types';
import type { Usergroups } from './usergroups';
import type { Views } from './views';
import type { Workspace } from './workspace';

export interface MethodResult {
  status: number;
  headers?: Record<string, string>;
  body: Record<string, unknown>;
}

export interface MethodEnv {
  workspace: Workspace;
  limiter: ChannelRateLimiter | undefined;
  appId: string;
  usergroups: Usergroups;
  views: Views;
}

type MethodHandler = (args: Record<string, unknown>, env: MethodEnv) => MethodResult;

const ok = (body: Record<string, unknown>): MethodResult => ({ status: 200, body: { ok: true, ...body } });
const fail = (error: string, extra: Record<string, unknown> = {}): MethodResult => ({
  status: 200,
  body: { ok: false, error, ...extra },
});
const contentFailure = (e: ContentError): MethodResult =>
  fail(e.error, e.messages === undefined ? {} : { errors: e.messages, response_metadata: { messages: e.messages } });

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** Resolves the channel and checks the bot is in it, as every chat.* and conversations read does first. */
function writableChannel(args: Record<string, unknown>, env: MethodEnv): SlackChannel | MethodResult {
  const ref = str(args.channel);
  const channel = ref === undefined ? undefined : env.workspace.findChannel(ref);
  if (channel === undefined) return fail('channel_not_found');
  if (!env.workspace.botIsMember(channel.id)) return fail('not_in_channel');
  return channel;
}

function rateLimited(channel: SlackChannel, env: MethodEnv): MethodResult | undefined {
  const verdict = env.limiter?.take(channel.id);
  if (verdict === undefined || verdict.allowed) return undefined;
  return {
    status: 429,
    headers: { 'retry-after': String(verdict.retryAfterSeconds) },
    body: { ok: false, error: 'ratelimited' },
  };
}

const isResult = (v: SlackChannel | MethodResult): v is MethodResult => 'body' in v;

/** The `message` object Slack returns: the stored message without the channel, plus app/team ids. */
function messageView(message: StoredMessage, env: MethodEnv, withMetadata = true): Record<string, unknown> {
  const { channel: _channel, metadata, ...rest } = message;
  return { ...rest, ...(withMetadata && metadata !== undefined ? { metadata } : {}), app_id: env.appId, team: env.workspace.team.id };
}

const MetadataSchema = z.object({ event_type: z.string().min(1), event_payload: z.record(z.string(), z.unknown()) });

/** Message metadata as Slack checks it: absent, or an event_type with an object payload. */
function parseMetadata(raw: unknown): MessageMetadata | undefined | 'invalid' {
  if (raw === undefined || raw === '') return undefined;
  const parsed = MetadataSchema.safeParse(raw);
  return parsed.success ? parsed.data : 'invalid';
}

const postMessage: MethodHandler = (args, env) => {
  const channel = writableChannel(args, env);
  if (isResult(channel)) return channel;
  const parsed = parseMessageContent(args, { requireContent: true });
  if ('error' in parsed) return contentFailure(parsed);
  const metadata = parseMetadata(args.metadata);
  if (metadata === 'invalid') return fail('invalid_metadata_format');
  const threadTs = str(args.thread_ts);
  // Stricter than Slack, which silently orphans such a reply: a wrong thread_ts is always a bot bug.
  if (threadTs !== undefined && env.workspace.findMessage(channel.id, threadTs) === undefined) return fail('thread_not_found');
  const limited = rateLimited(channel, env);
  if (limited !== undefined) return limited;
  const message = env.workspace.postMessage({
    channel: channel.id,
    user: BOT_USER_ID,
    bot_id: BOT_ID,
    text: parsed.content.text ?? '',
    ...(parsed.content.blocks === undefined ? {} : { blocks: parsed.content.blocks }),
    ...(parsed.content.attachments === undefined ? {} : { attachments: parsed.content.attachments }),
    ...(threadTs === undefined ? {} : { thread_ts: threadTs }),
    reply_broadcast: args.reply_broadcast === true,
    ...(metadata === undefined ? {} : { metadata }),
  });
  return ok({ channel: channel.id, ts: message.ts, message: messageView(message, env) });
};

const update: MethodHandler = (args, env) => {
  const channel = writableChannel(args, env);
  if (isResult(channel)) return channel;
  const ts = str(args.ts);
  const existing = ts === undefined ? undefined : env.workspace.findMessage(channel.id, ts);
  if (ts === undefined || existing === undefined) return fail('message_not_found');
  if (existing.user !== BOT_USER_ID) return fail('cant_update_message');
  const parsed = parseMessageContent(args, { requireContent: true });
  if ('error' in parsed) return contentFailure(parsed);
  const limited = rateLimited(channel, env);
  if (limited !== undefined) return limited;
  // Fields left out keep their previous value, as documented for chat.update.
  const message = env.workspace.updateMessage(channel.id, ts, parsed.content, true);
  if (message === undefined) return fail('message_not_found');
  return ok({ channel: channel.id, ts, text: message.text, message: messageView(message, env) });
};

const postEphemeral: MethodHandler = (args, env) => {
  const channel = writableChannel(args, env);
  if (isResult(channel)) return channel;
  const userRef = str(args.user);
  const user = userRef === undefined ? undefined : env.workspace.findUser(userRef);
  if (user === undefined) return fail('user_not_found');
  if (!channel.members.includes(user.id)) return fail('user_not_in_channel');
  const parsed = parseMessageContent(args, { requireContent: true });
  if ('error' in parsed) return contentFailure(parsed);
  const threadTs = str(args.thread_ts);
  const ephemeral = env.workspace.postEphemeral({
    channel: channel.id,
    user: user.id,
    from: BOT_USER_ID,
    text: parsed.content.text ?? '',
    ...(parsed.content.blocks === undefined ? {} : { blocks: parsed.content.blocks }),
    ...(threadTs === undefined ? {} : { thread_ts: threadTs }),
    source: 'chat.postEphemeral',
  });
  return ok({ message_ts: ephemeral.ts });
};

const deleteMessage: MethodHandler = (args, env) => {
  const channel = writableChannel(args, env);
  if (isResult(channel)) return channel;
  const ts = str(args.ts);
  if (ts === undefined || !env.workspace.deleteMessage(channel.id, ts)) return fail('message_not_found');
  return ok({ channel: channel.id, ts });
};

const authTest: MethodHandler = (_args, env) =>
  ok({
    url: `https://${env.workspace.team.domain}.slack.com/`,
    team: env.workspace.team.name,
    user: BOT_NAME,
    team_id: env.workspace.team.id,
    user_id: BOT_USER_ID,
    bot_id: BOT_ID,
    is_enterprise_install: false,
  });

const conversationsInfo: MethodHandler = (args, env) => {
  const ref = str(args.channel);
  const channel = ref === undefined ? undefined : env.workspace.findChannel(ref);
  if (channel === undefined) return fail('channel_not_found');
  return ok({
    channel: {
      id: channel.id,
      name: channel.name,
      name_normalized: channel.name,
      is_channel: true,
      is_group: false,
      is_im: false,
      is_private: false,
      is_archived: false,
      is_general: false,
      is_member: env.workspace.botIsMember(channel.id),
      context_team_id: env.workspace.team.id,
      topic: { value: channel.topic, creator: '', last_set: 0 },
      purpose: { value: channel.topic, creator: '', last_set: 0 },
    },
  });
};

const usersInfo: MethodHandler = (args, env) => {
  const ref = str(args.user);
  const user = ref === undefined ? undefined : env.workspace.findUser(ref);
  if (user === undefined) return fail('user_not_found');
  return ok({
    user: {
      id: user.id,
      team_id: env.workspace.team.id,
      name: user.name,
      real_name: user.realName,
      deleted: false,
      is_bot: user.isBot,
      is_admin: false,
      tz: 'Europe/Berlin',
      profile: { real_name: user.realName, display_name: user.name, title: user.title },
    },
  });
};

/** A link to a message, in the form Slack gives: https://<domain>.slack.com/archives/<channel>/p<ts without the dot>. */
const getPermalink: MethodHandler = (args, env) => {
  const ref = str(args.channel);
  const channel = ref === undefined ? undefined : env.workspace.findChannel(ref);
  if (channel === undefined) return fail('channel_not_found');
  const ts = str(args.message_ts);
  if (ts === undefined || env.workspace.findMessage(channel.id, ts) === undefined) return fail('message_not_found');
  return ok({ channel: channel.id, permalink: `https://${env.workspace.team.domain}.slack.com/archives/${channel.id}/p${ts.replace('.', '')}` });
};

const tsNumber = (ts: string): number => Number(ts);

/**
 * One page of `messages` as conversations.history and .replies serve it: filtered by
 * oldest/latest (exclusive unless `inclusive`), `limit` per page (default 100, at most 999),
 * the cursor an opaque offset. Metadata only with include_all_metadata, as Slack does.
 */
function page(all: StoredMessage[], args: Record<string, unknown>, env: MethodEnv): MethodResult {
  const inclusive = args.inclusive === true;
  const oldest = str(args.oldest) === undefined ? undefined : Number(args.oldest);
  const latest = str(args.latest) === undefined ? undefined : Number(args.latest);
  const inRange = all.filter((m) => {
    const t = tsNumber(m.ts);
    if (oldest !== undefined && (inclusive ? t < oldest : t <= oldest)) return false;
    if (latest !== undefined && (inclusive ? t > latest : t >= latest)) return false;
    return true;
  });
  const limit = Math.min(999, Math.max(1, Number(args.limit ?? 100) || 100));
  const cursor = str(args.cursor);
  const start = cursor === undefined ? 0 : Number(Buffer.from(cursor, 'base64').toString('utf8').replace(/^offset:/, ''));
  if (!Number.isInteger(start) || start < 0) return fail('invalid_cursor');
  const withMetadata = args.include_all_metadata === true;
  const slice = inRange.slice(start, start + limit);
  const hasMore = start + limit < inRange.length;
  return ok({
    messages: slice.map((m) => messageView(m, env, withMetadata)),
    has_more: hasMore,
    response_metadata: { next_cursor: hasMore ? Buffer.from(`offset:${start + limit}`).toString('base64') : '' },
  });
}

/** Top-level messages (and replies broadcast to the channel), newest first. */
const conversationsHistory: MethodHandler = (args, env) => {
  const channel = writableChannel(args, env);
  if (isResult(channel)) return channel;
  const top = env.workspace
    .channelMessages(channel.id)
    .filter((m) => m.thread_ts === undefined || m.thread_ts === m.ts || m.reply_broadcast === true);
  return page([...top].reverse(), args, env);
};

/** The thread's parent first, then its replies, oldest first. */
const conversationsReplies: MethodHandler = (args, env) => {
  const channel = writableChannel(args, env);
  if (isResult(channel)) return channel;
  const ts = str(args.ts);
  const parent = ts === undefined ? undefined : env.workspace.findMessage(channel.id, ts);
  if (ts === undefined || parent === undefined) return fail('thread_not_found');
  const root = parent.thread_ts ?? parent.ts;
  const thread = env.workspace.channelMessages(channel.id).filter((m) => m.ts === root || m.thread_ts === root);
  return page(thread, args, env);
};

const usergroupsUsersList: MethodHandler = (args, env) => {
  const id = str(args.usergroup);
  if (id === undefined) return fail('invalid_arguments');
  const members = env.usergroups.members(id);
  if (members === undefined) return fail('no_such_subteam');
  return ok({ users: [...members] });
};

/** The view object of views.open/update: a modal with a title and blocks, as Slack insists. */
function modalView(args: Record<string, unknown>): { view: Record<string, unknown> } | { error: MethodResult } {
  let view: unknown = args.view;
  if (typeof view === 'string') {
    try {
      view = JSON.parse(view);
    } catch {
      return { error: fail('invalid_arguments') };
    }
  }
  if (typeof view !== 'object' || view === null) return { error: fail('invalid_arguments') };
  const v = view as Record<string, unknown>;
  if (v.type !== 'modal' || typeof v.title !== 'object' || !Array.isArray(v.blocks)) return { error: fail('invalid_arguments') };
  if (v.blocks.length > 100) return { error: fail('invalid_blocks') };
  return { view: v };
}

const viewsOpen: MethodHandler = (args, env) => {
  const trigger = str(args.trigger_id);
  if (trigger === undefined) return fail('invalid_trigger_id');
  const parsed = modalView(args);
  if ('error' in parsed) return parsed.error;
  const stored = env.views.openView(trigger, parsed.view);
  return ok({ view: { id: stored.id, ...stored.view } });
};

const viewsUpdate: MethodHandler = (args, env) => {
  const id = str(args.view_id);
  if (id === undefined) return fail('invalid_arguments');
  const parsed = modalView(args);
  if ('error' in parsed) return parsed.error;
  const stored = env.views.update(id, parsed.view);
  if (stored === undefined) return fail('not_found');
  return ok({ view: { id: stored.id, ...stored.view } });
};

/** views.publish: a Home tab (type `home`, at most 100 blocks) for a member of the workspace. */
const viewsPublish: MethodHandler = (args, env) => {
  const ref = str(args.user_id);
  const user = ref === undefined ? undefined : env.workspace.findUser(ref);
  if (user === undefined) return fail('user_not_found');
  let view: unknown = args.view;
  if (typeof view === 'string') {
    try {
      view = JSON.parse(view);
    } catch {
      return fail('invalid_arguments');
    }
  }
  if (typeof view !== 'object' || view === null) return fail('invalid_arguments');
  const v = view as Record<string, unknown>;
  if (v.type !== 'home' || !Array.isArray(v.blocks)) return fail('invalid_arguments');
  if (v.blocks.length > 100) return fail('invalid_blocks');
  env.views.publishHome(user.id, v);
  return ok({ view: { id: `VH${user.id}`, ...v } });
};

export const METHODS: Readonly<Record<string, MethodHandler>> = {
  'auth.test': authTest,
  'chat.postMessage': postMessage,
  'chat.update': update,
  'chat.postEphemeral': postEphemeral,
  'chat.delete': deleteMessage,
  'chat.getPermalink': getPermalink,
  'conversations.info': conversationsInfo,
  'conversations.history': conversationsHistory,
  'conversations.replies': conversationsReplies,
  'users.info': usersInfo,
  'usergroups.users.list': usergroupsUsersList,
  'views.open': viewsOpen,
  'views.update': viewsUpdate,
  'views.publish': viewsPublish,
};

export const unknownMethod = (): MethodResult => fail('unknown_method');
