import Bottleneck from 'bottleneck';
import type { Logger } from 'pino';
import { backoffDelay } from '../../domain/backoff';
import { parseRef, type RefName } from '../../domain/message-keys';
import type { Metrics } from '../metrics';
import type { NewOutboxJob, OutboxJob, Store } from '../../ports/store';
import { findPosted, outboxMetadata, type ConversationsApi, type LookupResult } from './outbox-lookup';

/** The part of @slack/web-api's WebClient the outbox needs (a test may pass a stub). */
export interface ChatApi {
  chat: {
    postMessage(args: Record<string, unknown>): Promise<{ ts?: string }>;
    update(args: Record<string, unknown>): Promise<{ ts?: string }>;
  };
  /**
   * To find out whether a post whose answer never came landed. Without it such a post is sent
   * again (counted in pgbackup_slack_unverified_reposts_total).
   */
  conversations?: ConversationsApi;
}

export interface OutboxOptions {
  chat: ChatApi;
  store: Store;
  logger: Logger;
  clock?: () => number;
  metrics?: Metrics;
  /** Spacing of writes in one channel; Slack allows about one message per second. */
  channelIntervalMs?: number;
  /** How often one job is tried on 5xx/network errors before it is given up. */
  maxAttempts?: number;
  /** How long one Slack call may take before it counts as unanswered (default 10 s). */
  callTimeoutMs?: number;
  /**
   * Several replicas: only the leader sends. `epoch` is the leadership epoch while this process
   * leads (null otherwise); every write is fenced by it in the store. Default: always 0 (one bot).
   */
  epoch?: () => number | null;
  /** False: store jobs only, until startSending() (a follower; the leader sends them). Default true. */
  sending?: boolean;
  /** Jobs were stored that this process will not send: tell the leader (PostgreSQL NOTIFY). */
  onJobsForLeader?: () => void;
}

export type RefHandler = (id: number, ts: string | null, error: string | null) => void;

/** Wait before a job whose run failed outside Slack (a store error) is tried again. */
const CRASH_RETRY_MS = 1000;

/**
 * The store refused a call made between Slack attempts (locked, full, unreachable). Not a
 * failed Slack attempt: counted as one, a store outage would use up a message's attempts and
 * give it up; it crashes the job instead, which is tried again later, uncounted.
 */
class StoreRefusal extends Error {
  constructor(readonly refusal: unknown) {
    super('the store refused a call');
  }
}

function fromStore<T>(call: () => T): T {
  try {
    return call();
  } catch (err) {
    throw new StoreRefusal(err);
  }
}
export const DEFAULT_SLACK_CALL_TIMEOUT_MS = 10_000;
/** How long after a write timed out (with none answered since) Slack counts as not answering. */
const UNRESPONSIVE_WINDOW_MS = 60_000;
/** The error code of a Slack call the outbox gave up waiting for. */
const TIMEOUT_CODE = 'slack_call_timeout';

/** Slack errors that retrying will not cure. */
const PERMANENT = new Set([
  'not_in_channel',
  'channel_not_found',
  'is_archived',
  'invalid_blocks',
  'invalid_blocks_format',
  'msg_too_long',
  'message_not_found',
  'cant_update_message',
  'invalid_auth',
  'not_authed',
  'account_inactive',
  'token_revoked',
  'missing_scope',
  'restricted_action',
]);

interface SlackCallError {
  code?: string;
  retryAfter?: number;
  statusCode?: number;
  data?: { error?: string };
  message?: string;
  original?: { name?: string; message?: string };
}

/** A call Slack answered for sure: an `ok:false` error or a 429. Anything else may have landed. */
const isDefinite = (err: SlackCallError): boolean =>
  err.code === 'slack_webapi_platform_error' || err.code === 'slack_webapi_rate_limited_error';

/**
 * Ours, or the WebClient's own `timeout` (fetch aborted by AbortSignal.timeout; where the
 * DOMException is not seen as an Error, the client wraps it and only its message tells).
 */
const isTimeout = (err: SlackCallError): boolean =>
  err.code === TIMEOUT_CODE ||
  (err.code === 'slack_webapi_request_error' && (err.original?.name === 'TimeoutError' || /^TimeoutError\b/.test(err.original?.message ?? '')));

/** Waits between tries of a job on 5xx/network errors: 0.5 s, 1 s, 2 s … up to 30 s. */
const RETRY_BACKOFF = { minDelayMs: 500, maxDelayMs: 30_000 };

/** Resolves when `promise` settles or after `ms`, whichever comes first. */
async function atMost(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise, new Promise<void>((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}

/** Rejects when `promise` has not settled within `ms`; the call itself is left to the client's own timeout. */
function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(Object.assign(new Error(`Slack did not answer within ${ms} ms`), { code: TIMEOUT_CODE })), ms);
    timer.unref?.();
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

/**
 * The only place that posts or edits Slack messages. Jobs are stored before they are sent
 * (so a restart resumes them) under an idempotency key (so nothing is posted twice), sent in
 * order per channel by a Bottleneck limiter, and a 429 is answered here by waiting
 * Retry-After; the WebClient itself is built not to retry, so only this layer does.
 *
 * A post whose answer never came (timeout, 5xx, reset, or a crash mid-call, seen as the
 * store's in-flight mark) may have landed: it carries its key as message metadata and is
 * looked up in Slack before it is posted again. Every call has a deadline, and only the call
 * holds one of the global slots: a job waiting to retry keeps its channel's turn, not a slot.
 */
export class Outbox {
  private readonly limiters: Bottleneck.Group;
  private readonly global: Bottleneck;
  private readonly clock: () => number;
  private readonly maxAttempts: number;
  private readonly refs = new Map<RefName, RefHandler>();
  private readonly waiters = new Map<number, Array<(job: OutboxJob) => void>>();
  /** Newest pending update per message, so a burst of edits sends only the last one. */
  private readonly latestUpdate = new Map<string, number>();
  private readonly scheduled = new Set<number>();
  private readonly idleWaiters: Array<() => void> = [];
  /** When the last Slack write in each channel ended (performance.now()), for spacing the next. */
  private readonly lastWriteEnded = new Map<string, number>();
  /** Jobs Slack accepted whose `sent` mark the store refused (e.g. locked): never sent again. */
  private readonly sentUnrecorded = new Map<number, string | null>();
  private stopping = false;
  private sending: boolean;
  /** When this process began sending (clock ms): jobs another leader left in flight wait on it. */
  private sendingSince: number;
  /** When a write last timed out / last got an answer (clock ms), for readiness. */
  private lastWriteTimeoutAt = -Infinity;
  private lastWriteAnsweredAt = -Infinity;
  private readonly callTimeoutMs: number;
  private readonly sleeps = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();

  constructor(private readonly options: OutboxOptions) {
    this.clock = options.clock ?? Date.now;
    this.maxAttempts = options.maxAttempts ?? 5;
    this.callTimeoutMs = options.callTimeoutMs ?? DEFAULT_SLACK_CALL_TIMEOUT_MS;
    this.sending = options.sending ?? true;
    this.sendingSince = this.clock();
    // Not chained to the channel limiters: a job holds a global slot only during a call.
    this.global = new Bottleneck({ maxConcurrent: 8, minTime: 0 });
    this.limiters = new Bottleneck.Group({ maxConcurrent: 1, minTime: options.channelIntervalMs ?? 1000 });
  }

  /** Slack is not answering: the latest write timed out recently and none was answered since. */
  slackUnresponsive(): boolean {
    return this.lastWriteTimeoutAt > this.lastWriteAnsweredAt && this.clock() - this.lastWriteTimeoutAt < UNRESPONSIVE_WINDOW_MS;
  }

  /** Registers what to do when a job with `ref` `<name>:<id>` has been sent (or given up). */
  onRef(name: RefName, handler: RefHandler): void {
    this.refs.set(name, handler);
  }

  /**
   * Runs `fn` in one store transaction with an `add` for jobs; they are scheduled only once
   * the transaction has committed, so a state change and its messages land together.
   */
  transaction<T>(fn: (add: (job: NewOutboxJob) => OutboxJob | undefined) => T): T {
    const added: OutboxJob[] = [];
    const result = this.options.store.transaction(() =>
      fn((job) => {
        const stored = this.options.store.outbox.add(job, this.clock());
        if (stored) added.push(stored);
        return stored;
      }),
    );
    if (this.sending) for (const job of added) this.schedule(job);
    else if (added.length > 0) this.options.onJobsForLeader?.();
    return result;
  }

  /** This process became the leader: from now on it sends, starting with what is pending. */
  startSending(): number {
    if (!this.sending) {
      this.sending = true;
      this.sendingSince = this.clock();
    }
    return this.resume();
  }

  /** Adds one job; undefined when its key was used before (then nothing is sent). */
  enqueue(job: NewOutboxJob): OutboxJob | undefined {
    return this.transaction((add) => add(job));
  }

  /** Resolves once the job is sent or given up (immediately if it already was). */
  settled(jobId: number): Promise<OutboxJob> {
    return new Promise((resolve) => {
      const now = this.options.store.outbox.get(jobId);
      if (now && now.state !== 'pending') return resolve(now);
      const list = this.waiters.get(jobId) ?? [];
      list.push(resolve);
      this.waiters.set(jobId, list);
    });
  }

  /**
   * Schedules the jobs a previous run (or another replica) left pending, in their original order;
   * those already scheduled stay as they are.
   */
  resume(): number {
    if (!this.sending) return 0;
    const pending = this.options.store.outbox.pending();
    for (const job of pending) this.schedule(job);
    return pending.length;
  }

  private epoch(): number | null {
    return this.options.epoch ? this.options.epoch() : 0;
  }

  depth(): number {
    return this.scheduled.size;
  }

  /** Stops taking jobs and waits (bounded) for the queued ones; what is left stays pending in the store. */
  async drain(timeoutMs: number): Promise<void> {
    const deadline = this.clock() + timeoutMs;
    await atMost(this.idle(), timeoutMs);
    this.stopping = true;
    for (const s of this.sleeps) {
      clearTimeout(s.timer);
      s.resolve();
    }
    // A call still under way is not waited for past the deadline: it is in flight in the store,
    // so the next start looks it up before posting it again.
    const stopped = this.global.stop({ dropWaitingJobs: true }).catch(() => undefined);
    await atMost(stopped, Math.max(0, deadline - this.clock()));
  }

  /** Resolves once no job is scheduled: now, or when the last one's run ends. */
  private idle(): Promise<void> {
    if (this.scheduled.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private schedule(job: OutboxJob): void {
    if (this.scheduled.has(job.id) || this.stopping) return;
    this.scheduled.add(job.id);
    if (job.method === 'chat.update') {
      // Job ids grow: a retried older edit never takes the place of a newer one.
      const latest = this.latestUpdate.get(this.messageKey(job));
      if (latest === undefined || latest < job.id) this.latestUpdate.set(this.messageKey(job), job.id);
    }
    this.limiters
      .key(job.channel)
      .schedule({ priority: job.priority }, () => this.run(job))
      .catch((err: unknown) => {
        // Typically the store refusing a write (file locked by another process): the job is
        // still pending there, so try it again later instead of leaving it until a restart.
        this.options.logger.error({ err, key: job.key }, 'outbox job crashed; retrying later');
        this.retryLater(job);
      });
  }

  private retryLater(job: OutboxJob): void {
    if (this.stopping) return;
    const entry = {
      timer: setTimeout(() => {
        this.sleeps.delete(entry);
        if (!this.stopping) this.schedule(job);
      }, CRASH_RETRY_MS),
      resolve: () => undefined,
    };
    entry.timer.unref?.();
    this.sleeps.add(entry);
  }

  private messageKey(job: OutboxJob): string {
    return `${job.channel}:${String(job.payload.ts)}`;
  }

  private async run(job: OutboxJob): Promise<void> {
    const { store, logger, metrics } = this.options;
    try {
      if (this.stopping) return;
      if (this.sentUnrecorded.has(job.id)) {
        const ts = this.sentUnrecorded.get(job.id) ?? null;
        store.outbox.markSent(job.id, ts, this.clock());
        this.sentUnrecorded.delete(job.id);
        return this.settle(job.id, ts, null);
      }
      if (job.method === 'chat.update' && this.latestUpdate.get(this.messageKey(job)) !== job.id) {
        store.outbox.markSent(job.id, (job.payload.ts as string | undefined) ?? null, this.clock());
        return this.settle(job.id, null, null);
      }
      for (let attempt = 1; ; attempt++) {
        let res: { ts?: string } | undefined;
        let phase: 'lookup' | 'write' = 'lookup';
        try {
          // Only a post is looked up; an edit lands the same however often it is sent.
          const stored = job.method === 'chat.postMessage' ? fromStore(() => store.outbox.get(job.id)) : undefined;
          if (stored?.inFlight === true) {
            // Left in flight by an earlier leader that may still be inside that call (it lost
            // its lock without knowing yet): its answer can come up to one call timeout later.
            // Looking before then could miss the post and send it twice.
            if (stored.attemptEpoch !== this.epoch()) {
              const wait = this.sendingSince + this.callTimeoutMs - this.clock();
              if (wait > 0) await this.sleep(wait);
              if (this.stopping) return;
            }
            const found = await this.lookUp(job);
            if (found === undefined) return; // stopping: the job stays pending (and in flight) for the next start
            if (found.kind === 'found') {
              logger.info({ key: job.key }, 'unanswered Slack post had landed; not posting it again');
              res = { ts: found.ts };
            } else if (found.kind === 'unverifiable') {
              metrics?.slackUnverifiedReposts.inc({ reason: found.reason });
              logger.warn({ key: job.key, slackError: found.reason }, 'can not check whether an unanswered Slack post landed; posting again (it may show twice)');
            }
          }
          if (res === undefined) {
            phase = 'write';
            const epoch = this.epoch();
            if (epoch === null || !fromStore(() => store.outbox.startAttempt(job.id, epoch))) {
              // Fenced: another replica leads now (or the job is no longer pending). It sends.
              logger.warn({ key: job.key, epoch }, 'not the leader any more: leaving the Slack write to the new leader');
              return;
            }
            const written = await this.write(job);
            if (written === undefined) return; // stopping: the job stays pending for the next start
            res = written;
          }
        } catch (raw) {
          // The store may be closed by now; what is left is resumed (and looked up) at the next start.
          if (this.stopping) return;
          if (raw instanceof StoreRefusal) throw raw.refusal;
          const err = raw as SlackCallError;
          const slackError = isTimeout(err) ? 'timeout' : (err.data?.error ?? err.code ?? 'error');
          if (phase === 'write' && isDefinite(err)) store.outbox.attemptRefused(job.id);
          if (err.code === 'slack_webapi_rate_limited_error') {
            metrics?.slackRateLimited.inc({ method: job.method });
            metrics?.slackCalls.inc({ method: job.method, outcome: 'rate_limited' });
            const waitMs = Math.max(1, err.retryAfter ?? 1) * 1000;
            logger.warn({ key: job.key, waitMs }, 'Slack rate limit: waiting Retry-After');
            await this.sleep(waitMs);
            if (this.stopping) return;
            attempt--; // waiting out a rate limit is not a failed attempt
            continue;
          }
          metrics?.slackCalls.inc({ method: job.method, outcome: slackError === 'timeout' ? 'timeout' : 'error' });
          const permanent = PERMANENT.has(slackError);
          if (permanent || attempt >= this.maxAttempts) {
            logger.error({ key: job.key, slackError, attempt }, 'Slack write given up');
            store.outbox.markFailed(job.id, slackError, this.clock());
            return this.settle(job.id, null, slackError);
          }
          logger.warn({ key: job.key, slackError, attempt, phase }, 'Slack write failed; retrying');
          // No jitter: a channel's jobs go one at a time anyway, nothing to spread.
          await this.sleep(backoffDelay(attempt - 1, RETRY_BACKOFF, () => 1));
          if (this.stopping) return;
          continue;
        }
        metrics?.slackCalls.inc({ method: job.method, outcome: 'ok' });
        // Outside the try above: a store error here must not be taken for a Slack error and
        // make the message go out again; the job is retried later and only marked sent then.
        this.sentUnrecorded.set(job.id, res.ts ?? null);
        store.outbox.markSent(job.id, res.ts ?? null, this.clock());
        this.sentUnrecorded.delete(job.id);
        return this.settle(job.id, res.ts ?? null, null);
      }
    } finally {
      this.scheduled.delete(job.id);
      if (this.scheduled.size === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
      if (this.latestUpdate.get(this.messageKey(job)) === job.id) this.latestUpdate.delete(this.messageKey(job));
    }
  }

  /**
   * One Slack write, started no sooner than `channelIntervalMs` after the previous write in the
   * same channel ended. Bottleneck's minTime spaces the starts only: when one write reaches
   * Slack late and the next one early, two land closer than the interval, and a per-channel
   * limit of one per interval answers 429. Undefined when the outbox stopped while waiting.
   */
  private async write(job: OutboxJob): Promise<{ ts?: string } | undefined> {
    const wait = (this.lastWriteEnded.get(job.channel) ?? -Infinity) + (this.options.channelIntervalMs ?? 1000) - performance.now();
    if (wait > 0) await this.sleep(wait);
    if (this.stopping) return undefined;
    const { chat } = this.options.chat;
    try {
      const res = await this.call(job, () =>
        job.method === 'chat.postMessage' ? chat.postMessage({ ...job.payload, metadata: outboxMetadata(job.key) }) : chat.update(job.payload),
      );
      this.lastWriteAnsweredAt = this.clock();
      return res;
    } catch (err) {
      if (isTimeout(err as SlackCallError)) this.lastWriteTimeoutAt = this.clock();
      else this.lastWriteAnsweredAt = this.clock();
      throw err;
    } finally {
      this.lastWriteEnded.set(job.channel, performance.now());
    }
  }

  /** Whether an unanswered post landed; undefined when the outbox stopped meanwhile. */
  private async lookUp(job: OutboxJob): Promise<LookupResult | undefined> {
    const conversations = this.options.chat.conversations;
    if (!conversations) return { kind: 'unverifiable', reason: 'no_history_client' };
    if (this.stopping) return undefined;
    // Each history page is its own call, with its own slot and deadline.
    const bounded: ConversationsApi = {
      history: (args) => this.call(job, () => conversations.history(args)),
      replies: (args) => this.call(job, () => conversations.replies(args)),
    };
    return findPosted(bounded, job);
  }

  /** One Slack call in a global slot, with a deadline: a hung call frees its slot when it times out. */
  private call<T>(job: OutboxJob, fn: () => Promise<T>): Promise<T> {
    // The answer is passed on as soon as it arrives, not after Bottleneck has freed the slot
    // (its store yields to the event loop): a ts is recorded before a click can need it.
    return new Promise<T>((resolve, reject) => {
      this.global
        .schedule({ priority: job.priority }, () => {
          const answer = within(fn(), this.callTimeoutMs);
          answer.then(resolve, reject);
          return answer.then(
            () => undefined,
            () => undefined,
          );
        })
        .catch(reject); // dropped: the outbox is stopping
    });
  }

  private settle(jobId: number, ts: string | null, error: string | null): void {
    const job = this.options.store.outbox.get(jobId);
    const ref = job?.ref ? parseRef(job.ref) : undefined;
    if (ref) {
      try {
        this.refs.get(ref.name)?.(ref.id, ts, error);
      } catch (err) {
        this.options.logger.error({ err, ref: job?.ref }, 'outbox ref handler failed');
      }
    }
    const waiters = this.waiters.get(jobId);
    this.waiters.delete(jobId);
    if (job) for (const w of waiters ?? []) w(job);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const entry = {
        timer: setTimeout(() => {
          this.sleeps.delete(entry);
          resolve();
        }, ms),
        resolve,
      };
      this.sleeps.add(entry);
    });
  }
}
