import type { EventEmitter } from 'node:events';
import { BOT_USER_ID } from './defaults';
import { TsClock } from './ts-clock';
import type {
  Block,
  FakeSlackEvents,
  SlackChannel,
  SlackUser,
  StoredEphemeral,
  StoredMessage,
  TeamInfo,
  WorkspaceSnapshot,
} from './types';

type Emit = EventEmitter<FakeSlackEvents>['emit'];

/** What a poster says; the workspace assigns the ts and keeps the edit history. */
export type NewMessage = Omit<StoredMessage, 'type' | 'ts' | 'edited'>;

export interface MessageChange {
  text?: string;
  blocks?: Block[];
  attachments?: unknown[];
}

/**
 * The state a Slack client would show: who is here, which channels exist, every message and
 * who may see which ephemeral. It knows nothing about HTTP; the API methods and the sandbox
 * page both work on it, and every change is emitted so the page can follow live.
 */
export class Workspace {
  private readonly messages = new Map<string, StoredMessage[]>();
  private ephemerals: StoredEphemeral[] = [];
  private readonly clock: TsClock;
  private blockIdCounter = 0;

  constructor(
    readonly team: TeamInfo,
    private readonly users: readonly SlackUser[],
    private readonly channels: readonly SlackChannel[],
    private readonly notInChannel: ReadonlySet<string>,
    now: () => number,
    private readonly emit: Emit,
  ) {
    this.clock = new TsClock(now);
  }

  nextTs(): string {
    return this.clock.next();
  }

  findUser(idOrName: string): SlackUser | undefined {
    const name = idOrName.replace(/^@/, '');
    return this.users.find((u) => u.id === idOrName || u.name === name);
  }

  /** Slack accepts a channel id, a name, or "#name" wherever a channel is expected. */
  findChannel(idOrName: string): SlackChannel | undefined {
    const name = idOrName.replace(/^#/, '');
    return this.channels.find((c) => c.id === idOrName || c.name === name);
  }

  botIsMember(channelId: string): boolean {
    return !this.notInChannel.has(channelId);
  }

  findMessage(channel: string, ts: string): StoredMessage | undefined {
    return this.messages.get(channel)?.find((m) => m.ts === ts);
  }

  postMessage(input: NewMessage): StoredMessage {
    const parent = input.thread_ts === undefined ? undefined : this.findMessage(input.channel, input.thread_ts);
    const message: StoredMessage = {
      type: 'message',
      channel: input.channel,
      ts: this.nextTs(),
      user: input.user,
      ...(input.bot_id === undefined ? {} : { bot_id: input.bot_id }),
      text: input.text,
      ...(input.blocks === undefined ? {} : { blocks: this.withBlockIds(input.blocks) }),
      ...(input.attachments === undefined ? {} : { attachments: input.attachments }),
      // A reply to a reply belongs to the same thread: Slack threads are one level deep.
      ...(parent === undefined ? {} : { thread_ts: parent.thread_ts ?? parent.ts }),
      ...(parent !== undefined && input.reply_broadcast === true ? { reply_broadcast: true } : {}),
      ...(input.metadata === undefined ? {} : { metadata: structuredClone(input.metadata) }),
    };
    const list = this.messages.get(input.channel) ?? [];
    list.push(message);
    this.messages.set(input.channel, list);
    this.emit('message', message);
    return message;
  }

  /** Every message of a channel, oldest first (thread replies included). */
  channelMessages(channel: string): readonly StoredMessage[] {
    return this.messages.get(channel) ?? [];
  }

  updateMessage(channel: string, ts: string, change: MessageChange, markEdited: boolean): StoredMessage | undefined {
    const message = this.findMessage(channel, ts);
    if (message === undefined) return undefined;
    if (change.text !== undefined) message.text = change.text;
    if (change.blocks !== undefined) message.blocks = this.withBlockIds(change.blocks);
    if (change.attachments !== undefined) message.attachments = change.attachments;
    if (markEdited) message.edited = { user: BOT_USER_ID, ts: this.nextTs() };
    this.emit('update', message);
    return message;
  }

  deleteMessage(channel: string, ts: string): boolean {
    const list = this.messages.get(channel);
    const index = list?.findIndex((m) => m.ts === ts) ?? -1;
    if (list === undefined || index < 0) return false;
    list.splice(index, 1);
    this.emit('delete', { channel, ts });
    return true;
  }

  postEphemeral(input: Omit<StoredEphemeral, 'ts'>): StoredEphemeral {
    const ephemeral: StoredEphemeral = {
      ...input,
      ts: this.nextTs(),
      ...(input.blocks === undefined ? {} : { blocks: this.withBlockIds(input.blocks) }),
    };
    this.ephemerals.push(ephemeral);
    this.emit('ephemeral', ephemeral);
    return ephemeral;
  }

  findEphemeral(user: string, ts: string): StoredEphemeral | undefined {
    return this.ephemerals.find((e) => e.user === user && e.ts === ts);
  }

  replaceEphemeral(user: string, ts: string, change: { text: string; blocks?: Block[] }): StoredEphemeral | undefined {
    const ephemeral = this.findEphemeral(user, ts);
    if (ephemeral === undefined) return undefined;
    ephemeral.text = change.text;
    if (change.blocks === undefined) delete ephemeral.blocks;
    else ephemeral.blocks = this.withBlockIds(change.blocks);
    this.emit('ephemeral', ephemeral);
    return ephemeral;
  }

  deleteEphemeral(user: string, ts: string): boolean {
    const ephemeral = this.findEphemeral(user, ts);
    if (ephemeral === undefined) return false;
    this.ephemerals = this.ephemerals.filter((e) => e !== ephemeral);
    this.emit('ephemeral_delete', { channel: ephemeral.channel, user, ts });
    return true;
  }

  snapshot(): WorkspaceSnapshot {
    const ephemerals: Record<string, StoredEphemeral[]> = {};
    for (const e of this.ephemerals) (ephemerals[e.user] ??= []).push(structuredClone(e));
    return {
      team: { ...this.team },
      botUserId: BOT_USER_ID,
      users: this.users.map((u) => ({ ...u })),
      channels: this.channels.map((c) => ({
        ...c,
        members: [...c.members],
        isMember: this.botIsMember(c.id),
        messages: structuredClone(this.messages.get(c.id) ?? []),
      })),
      ephemerals,
    };
  }

  clear(): void {
    this.messages.clear();
    this.ephemerals = [];
    this.emit('reset');
  }

  /** Slack gives every block a block_id when the app leaves it out; clicks report that id. */
  private withBlockIds(blocks: Block[]): Block[] {
    return blocks.map((b) => (b.block_id === undefined ? { ...b, block_id: `b${(++this.blockIdCounter).toString(36)}` } : { ...b }));
  }
}
