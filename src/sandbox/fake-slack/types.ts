import { z } from 'zod';

/** Block Kit is checked only as far as the fake needs: every block is an object with a type. */
export const BlockSchema = z.looseObject({ type: z.string(), block_id: z.string().optional() });
export type Block = z.infer<typeof BlockSchema>;

export interface SlackUser {
  id: string;
  name: string;
  realName: string;
  /** What the person is for in the sandbox story (operator, approver, outsider). */
  title: string;
  isBot: boolean;
}

export interface SlackChannel {
  id: string;
  name: string;
  topic: string;
  members: string[];
}

/** Message metadata as chat.postMessage takes it; history returns it with include_all_metadata. */
export interface MessageMetadata {
  event_type: string;
  event_payload: Record<string, unknown>;
}

/** A channel message, with Slack's own field names so it can be returned as `message` verbatim. */
export interface StoredMessage {
  type: 'message';
  channel: string;
  ts: string;
  user: string;
  bot_id?: string;
  text: string;
  blocks?: Block[];
  attachments?: unknown[];
  thread_ts?: string;
  reply_broadcast?: boolean;
  edited?: { user: string; ts: string };
  metadata?: MessageMetadata;
}

export type EphemeralSource = 'chat.postEphemeral' | 'response_url' | 'ack' | 'slack';

export interface StoredEphemeral {
  channel: string;
  /** The only person who sees it. */
  user: string;
  ts: string;
  /** Who it appears to come from: the bot, or Slackbot for Slack's own error notices. */
  from: string;
  text: string;
  blocks?: Block[];
  thread_ts?: string;
  source: EphemeralSource;
}

export interface RecordedCall {
  method: string;
  /** Request arguments with `blocks`/`attachments` parsed back to objects and the token left out. */
  args: Record<string, unknown>;
  at: number;
  status: number;
  response: Record<string, unknown>;
}

export interface ResponseContext {
  user: string;
  channel: string;
  /** The message whose button produced this response_url, so replace/delete_original have a target. */
  messageTs?: string;
  isEphemeral?: boolean;
  threadTs?: string;
}

export interface RecordedResponse {
  id: string;
  user: string;
  channel: string;
  body: Record<string, unknown>;
  at: number;
}

export interface TeamInfo {
  id: string;
  domain: string;
  name: string;
}

export interface WorkspaceSnapshot {
  team: TeamInfo;
  botUserId: string;
  users: SlackUser[];
  channels: Array<SlackChannel & { isMember: boolean; messages: StoredMessage[] }>;
  ephemerals: Record<string, StoredEphemeral[]>;
}

/** A modal opened with views.open; `user` is known when its trigger_id was minted by the fake. */
export interface StoredView {
  id: string;
  user: string | undefined;
  view: Record<string, unknown>;
}

/** Everything `events` emits; the sandbox page listens to the same names over SSE. */
export interface FakeSlackEvents {
  call: [RecordedCall];
  message: [StoredMessage];
  update: [StoredMessage];
  delete: [{ channel: string; ts: string }];
  ephemeral: [StoredEphemeral];
  ephemeral_delete: [{ channel: string; user: string; ts: string }];
  response: [RecordedResponse];
  view: [StoredView];
  view_closed: [{ id: string; user: string | undefined }];
  /** views.publish: a person's Home tab. */
  home: [{ user: string; view: Record<string, unknown> }];
  reset: [];
}
