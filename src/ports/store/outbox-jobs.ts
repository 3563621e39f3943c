import { PRIORITY } from '../../domain/message-keys';
import { LEADER_EPOCH_IS, type SqlDb as Db } from './sql/sql-db';

export type OutboxMethod = 'chat.postMessage' | 'chat.update';

export interface OutboxJob {
  id: number;
  /** Idempotency key: a second job with the same key is never created, so never sent. */
  key: string;
  channel: string;
  method: OutboxMethod;
  payload: Record<string, unknown>;
  /** What to tell once Slack answers, e.g. `task-parent:12` to store the parent's ts. */
  ref: string | null;
  /** Bottleneck priority within its channel (lower first); see domain/message-keys. */
  priority: number;
  state: 'pending' | 'sent' | 'failed';
  attempts: number;
  resultTs: string | null;
  /** Slack's error when the job was given up. */
  error: string | null;
  /** A write was started and its outcome is unknown: it may have landed. */
  inFlight: boolean;
  /** The leadership epoch of the leader that started the latest attempt (null: none yet). */
  attemptEpoch: number | null;
  /** When the job was stored (epoch ms): nothing older can be its message. */
  createdAt: number;
}

interface Row {
  id: number;
  key: string;
  channel: string;
  method: string;
  payload: string;
  ref: string | null;
  priority: number;
  state: string;
  attempts: number;
  result_ts: string | null;
  error: string | null;
  in_flight: number;
  created_at: number;
  attempt_epoch: number | null;
}

const toJob = (r: Row): OutboxJob => ({
  id: r.id,
  key: r.key,
  channel: r.channel,
  method: r.method as OutboxMethod,
  payload: JSON.parse(r.payload) as Record<string, unknown>,
  ref: r.ref,
  priority: r.priority,
  state: r.state as OutboxJob['state'],
  attempts: r.attempts,
  resultTs: r.result_ts,
  error: r.error,
  inFlight: r.in_flight === 1,
  attemptEpoch: r.attempt_epoch,
  createdAt: r.created_at,
});

export interface NewOutboxJob {
  key: string;
  channel: string;
  method: OutboxMethod;
  payload: Record<string, unknown>;
  ref?: string | null;
  /** Default: normal (5). */
  priority?: number;
}

/** Durable queue of Slack writes: a job survives a restart and is sent at most once per key. */
export class OutboxJobsRepo {
  private readonly stmts;

  constructor(db: Db) {
    this.stmts = {
      insert: db.prepare(
        `INSERT INTO outbox_jobs (key, channel, method, payload, ref, priority, created_at)
         VALUES (@key, @channel, @method, @payload, @ref, @priority, @at) ON CONFLICT (key) DO NOTHING RETURNING id`,
      ),
      byKey: db.prepare('SELECT * FROM outbox_jobs WHERE key = ?'),
      byId: db.prepare('SELECT * FROM outbox_jobs WHERE id = ?'),
      pending: db.prepare(`SELECT * FROM outbox_jobs WHERE state = 'pending' ORDER BY id`),
      attempt: db.prepare('UPDATE outbox_jobs SET attempts = attempts + 1 WHERE id = ?'),
      startAttempt: db.prepare(
        `UPDATE outbox_jobs SET attempts = attempts + 1, in_flight = 1, attempt_epoch = @epoch
         WHERE id = @id AND state = 'pending' AND ${LEADER_EPOCH_IS}`,
      ),
      settleAttempt: db.prepare('UPDATE outbox_jobs SET in_flight = 0 WHERE id = ?'),
      sent: db.prepare(`UPDATE outbox_jobs SET state = 'sent', result_ts = ?, done_at = ?, in_flight = 0 WHERE id = ? AND state = 'pending'`),
      failed: db.prepare(`UPDATE outbox_jobs SET state = 'failed', error = ?, done_at = ? WHERE id = ? AND state = 'pending'`),
      countPending: db.prepare(`SELECT COUNT(*) AS n FROM outbox_jobs WHERE state = 'pending'`),
    };
  }

  /** Adds the job unless its key exists; returns the new job, or undefined for a duplicate. */
  add(job: NewOutboxJob, at: number): OutboxJob | undefined {
    const inserted = this.stmts.insert.get({ key: job.key, channel: job.channel, method: job.method, payload: JSON.stringify(job.payload), ref: job.ref ?? null, priority: job.priority ?? PRIORITY.normal, at }) as { id: number } | undefined;
    if (inserted === undefined) return undefined;
    return toJob(this.stmts.byId.get(inserted.id) as Row);
  }

  get(id: number): OutboxJob | undefined {
    const r = this.stmts.byId.get(id) as Row | undefined;
    return r ? toJob(r) : undefined;
  }

  byKey(key: string): OutboxJob | undefined {
    const r = this.stmts.byKey.get(key) as Row | undefined;
    return r ? toJob(r) : undefined;
  }

  pending(): OutboxJob[] {
    return (this.stmts.pending.all() as Row[]).map(toJob);
  }

  countAttempt(id: number): void {
    this.stmts.attempt.run(id);
  }

  /**
   * Counts an attempt and marks it in flight, before the write: a crash mid-call leaves the mark.
   * False when the job is no longer pending or `epoch` is no longer the leadership's (fenced):
   * then nothing may be written.
   */
  startAttempt(id: number, epoch: number): boolean {
    return this.stmts.startAttempt.run({ id, epoch }).changes === 1;
  }

  /** Slack answered for sure that the write did not happen (e.g. ok:false, 429): nothing to look up. */
  attemptRefused(id: number): void {
    this.stmts.settleAttempt.run(id);
  }

  markSent(id: number, ts: string | null, at: number): void {
    this.stmts.sent.run(ts, at, id);
  }

  markFailed(id: number, error: string, at: number): void {
    this.stmts.failed.run(error, at, id);
  }

  pendingCount(): number {
    return (this.stmts.countPending.get() as { n: number }).n;
  }
}
