import type { RestoreRequest } from '../../domain/restore-request';
import { restoreFollowup, restoreFollowupEdit } from '../../domain/message-keys';
import type { Store } from '../../ports/store';
import type { Outbox } from '../../outbound/slack/outbox';
import { renderLogFollowup, type FollowupState } from '../../outbound/messages/restore-progress';

/** What the follow-up shows besides its state: the log window and where it comes from. */
export interface FollowupContent {
  lines(): readonly string[];
  /** The line that decided the outcome, if any. */
  reason(): string | undefined;
  source: string | null;
}

/** What the message needs of the bot: the request and the post's job as stored, the outbox. */
export interface FollowupPorts {
  store: { restores: Pick<Store['restores'], 'get'>; outbox: Pick<Store['outbox'], 'byKey'> };
  outbox: Pick<Outbox, 'enqueue' | 'settled'>;
  clock: () => number;
}

/**
 * The log-tail follow-up in a restore's thread: posted once, then edited in place at most
 * once per `editIntervalMs` (chat.update is rate limited), and a final edit that waits for
 * the post's ts when the post is still queued.
 */
export class FollowupMessage {
  private editTimer: NodeJS.Timeout | undefined;
  private lastEditAt = 0;
  private edits = 0;
  private closed = false;

  constructor(
    private readonly deps: FollowupPorts,
    private req: RestoreRequest,
    private readonly content: FollowupContent,
    private readonly editIntervalMs: number,
    /** 'unconfigured' when no log source is set (a label alone is no source). */
    private state: FollowupState,
  ) {}

  /** Posts the follow-up in the thread of the request's card (none without a card). */
  post(req: RestoreRequest): void {
    this.req = req;
    if (!req.cardTs) return;
    this.deps.outbox.enqueue({
      ...restoreFollowup(req.id),
      channel: req.channel,
      method: 'chat.postMessage',
      payload: { channel: req.channel, thread_ts: req.cardTs, ...this.render() },
    });
  }

  /** Something shown changed: edit soon, no sooner than the edit interval allows. */
  update(state?: FollowupState): void {
    if (this.closed) return;
    if (state) this.state = state;
    if (this.editTimer) return;
    const wait = Math.max(0, this.lastEditAt + this.editIntervalMs - this.deps.clock());
    this.editTimer = setTimeout(() => {
      this.editTimer = undefined;
      this.edit(false);
    }, wait);
  }

  /** The last edit, with the end's state; nothing is edited after it. */
  finish(state: FollowupState): void {
    this.close();
    this.state = state;
    this.edit(true);
  }

  /** No more edits (the restore ended, or the bot stops: a restart edits it again). */
  close(): void {
    this.closed = true;
    clearTimeout(this.editTimer);
    this.editTimer = undefined;
  }

  private render() {
    return renderLogFollowup(this.req, { state: this.state, lines: this.content.lines(), source: this.content.source, reason: this.content.reason() });
  }

  private edit(final: boolean): void {
    const fresh = this.deps.store.restores.get(this.req.id);
    if (fresh) this.req = fresh;
    const ts = this.req.followupTs;
    if (!ts) {
      if (!final) this.editLater();
      else this.deferFinalEdit();
      return;
    }
    this.lastEditAt = this.deps.clock();
    this.edits++;
    this.deps.outbox.enqueue({
      ...restoreFollowupEdit(this.req.id, final ? 'final' : { at: this.lastEditAt, n: this.edits }),
      channel: this.req.channel,
      method: 'chat.update',
      payload: { channel: this.req.channel, ts, ...this.render() },
    });
  }

  /** The post has no ts yet: try again after an interval. */
  private editLater(): void {
    if (this.closed) return;
    this.editTimer = setTimeout(() => {
      this.editTimer = undefined;
      this.edit(false);
    }, this.editIntervalMs);
  }

  /** The follow-up post is still queued: edit it once Slack has given it a ts. */
  private deferFinalEdit(): void {
    const job = this.deps.store.outbox.byKey(restoreFollowup(this.req.id).key);
    if (!job || job.state !== 'pending') return;
    void this.deps.outbox.settled(job.id).then(() => this.edit(true));
  }
}
