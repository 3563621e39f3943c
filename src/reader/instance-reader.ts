import type { Logger } from 'pino';
import type { BackupManagerApi } from '../ports/backup-manager/api';
import { UnavailableError } from '../domain/manager-errors';
import { backoffDelay } from '../ports/backup-manager/retry';
import type { InstanceView } from '../domain/backups';
import { Slots } from './slots';

/**
 * How often a subscriber needs fresh state: `active` while a backup or restore of the
 * instance is followed (POLL_INTERVAL_MS), `watch` otherwise (WATCH_INTERVAL_MS).
 */
export type Cadence = 'active' | 'watch';

export type ReadOutcome =
  | { instance: string; at: number; ok: true; view: InstanceView }
  | { instance: string; at: number; ok: false; error: unknown };

export type ReadListener = (outcome: ReadOutcome) => void | Promise<void>;

/** The manager as a whole: up when the last read reached it, down from the first unavailable one. */
export type ManagerHealth = { up: true; at: number } | { up: false; at: number; since: number; error: UnavailableError };
export type HealthListener = (health: ManagerHealth) => void | Promise<void>;

export interface Subscription {
  setCadence(cadence: Cadence): void;
  close(): void;
}

export interface InstanceReaderOptions {
  api: BackupManagerApi;
  logger: Logger;
  activeIntervalMs: number;
  watchIntervalMs: number;
  /** Most reads in flight at once (MANAGER_CONCURRENCY). */
  concurrency: number;
  /** Longest wait between probes while the manager is down (never shorter than the active interval). */
  maxBackoffMs?: number;
  clock?: () => number;
  random?: () => number;
}

interface Subscriber {
  cadence: Cadence;
  listener: ReadListener;
}

interface Entry {
  instance: string;
  subscribers: Set<Subscriber>;
  dueAt: number;
  /** Consecutive failed reads of this instance that were not a manager outage (e.g. bad JSON). */
  failures: number;
  inFlight: Promise<ReadOutcome> | undefined;
  /** Subscribers are told one read at a time, in order; no new scheduled read starts meanwhile. */
  delivering: Promise<void> | undefined;
}

function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** 1/φ: successive multiples mod 1 fill an interval evenly however many instances are added. */
const GOLDEN = 0.6180339887498949;

/**
 * The one reader of instance state. Each instance someone cares about is read at most once
 * per tick, at the fastest cadence any subscriber asks for; every subscriber of the instance
 * gets the same answer. At most `concurrency` reads are in flight, a long watch list is spread
 * over its interval instead of read in one burst, and while the manager is down only one
 * probe at a time goes out, backing off — for everyone at once.
 */
export class InstanceReader {
  private readonly entries = new Map<string, Entry>();
  private readonly health = new Set<HealthListener>();
  private readonly slots: Slots;
  private readonly clock: () => number;
  private readonly random: () => number;
  private readonly abort = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private placed = 0;
  /** Unset while the manager answers; the start of the outage and the probe count otherwise. */
  private outage: { since: number; probes: number; nextProbeAt: number } | undefined;
  private probing = false;
  private stopped = false;

  constructor(private readonly options: InstanceReaderOptions) {
    this.clock = options.clock ?? Date.now;
    this.random = options.random ?? Math.random;
    this.slots = new Slots(Math.max(1, options.concurrency));
  }

  /** Delivers every read of `instance` to `listener` until closed; the cadence can change later. */
  subscribe(instance: string, cadence: Cadence, listener: ReadListener): Subscription {
    const entry = this.entryFor(instance, cadence);
    const subscriber: Subscriber = { cadence, listener };
    entry.subscribers.add(subscriber);
    this.pullIn(entry);
    return {
      setCadence: (next) => {
        subscriber.cadence = next;
        this.pullIn(entry);
      },
      close: () => {
        entry.subscribers.delete(subscriber);
        if (entry.subscribers.size === 0 && this.idle(entry) && this.entries.get(instance) === entry) this.entries.delete(instance);
      },
    };
  }

  /** Called on every change of the manager's reachability (and on every failed probe). */
  onHealth(listener: HealthListener): () => void {
    this.health.add(listener);
    return () => this.health.delete(listener);
  }

  /** Whether the last read found the manager down. */
  managerDown(): boolean {
    return this.outage !== undefined;
  }

  /**
   * A read now, for a use case that must act on fresh state (a command, the check before a
   * restore POST). Joins a read of the instance already in flight; subscribers get it too.
   * `retry` (default true) lets the client retry a passing outage with its own short backoff,
   * as a person waiting on a command would want; scheduled reads never do.
   */
  async readNow(instance: string, options: { retry?: boolean; signal?: AbortSignal } = {}): Promise<InstanceView> {
    let entry = this.entries.get(instance);
    if (!entry) {
      // Kept in the map while in flight so a second readNow joins it; dropped when it settles.
      entry = { instance, subscribers: new Set(), dueAt: Infinity, failures: 0, inFlight: undefined, delivering: undefined };
      this.entries.set(instance, entry);
    }
    const read = this.read(entry, 1, options.retry ?? true);
    // The caller's deadline ends its wait, not the read others may be waiting on too.
    const outcome = options.signal ? await raceAbort(read, options.signal) : await read;
    if (!outcome.ok) throw outcome.error;
    return outcome.view;
  }

  /** Instances with at least one subscriber, and the interval each is read at. */
  schedule(): { instance: string; intervalMs: number }[] {
    return [...this.entries.values()].filter((e) => e.subscribers.size > 0).map((e) => ({ instance: e.instance, intervalMs: this.intervalOf(e) }));
  }

  /** Stops reading; reads in flight are aborted and their subscribers not told. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.abort.abort(new Error('instance reader stopped'));
    this.slots.stop(new Error('instance reader stopped'));
    const pending = [...this.entries.values()].flatMap((e) => [e.inFlight, e.delivering]).filter((p) => p !== undefined);
    await Promise.allSettled(pending);
  }

  private entryFor(instance: string, cadence: Cadence): Entry {
    const existing = this.entries.get(instance);
    if (existing) return existing;
    const now = this.clock();
    // A watched instance gets its own phase in the interval; an active one is read one interval on.
    const dueAt = cadence === 'watch' ? now + ((this.placed++ * GOLDEN) % 1) * this.options.watchIntervalMs : now + this.options.activeIntervalMs;
    const entry: Entry = { instance, subscribers: new Set(), dueAt, failures: 0, inFlight: undefined, delivering: undefined };
    this.entries.set(instance, entry);
    return entry;
  }

  private intervalOf(entry: Entry): number {
    for (const s of entry.subscribers) if (s.cadence === 'active') return this.options.activeIntervalMs;
    return this.options.watchIntervalMs;
  }

  /** A faster cadence takes effect now, not after the slow interval already scheduled. */
  private pullIn(entry: Entry): void {
    entry.dueAt = Math.min(entry.dueAt, this.clock() + this.intervalOf(entry));
    this.armAt(entry.dueAt);
  }

  /** After one entry's due time changed: no scan of all entries (a long watch list makes that costly). */
  private armAt(dueAt: number): void {
    if (this.outage) {
      this.arm();
      return;
    }
    if (this.stopped || dueAt >= this.timerAt) return;
    this.setTimer(dueAt);
  }

  /** Sets the timer to the earliest due time of all entries (or the next probe while the manager is down). */
  private arm(): void {
    if (this.stopped) return;
    let next = Infinity;
    if (this.outage) {
      if (!this.probing) next = this.outage.nextProbeAt;
    } else {
      for (const e of this.entries.values()) if (this.idle(e) && e.subscribers.size > 0 && e.dueAt < next) next = e.dueAt;
    }
    if (next === Infinity || next >= this.timerAt) return;
    this.setTimer(next);
  }

  private setTimer(next: number): void {
    clearTimeout(this.timer);
    this.timerAt = next;
    this.timer = setTimeout(() => this.fire(), Math.max(0, next - this.clock()));
    this.timer.unref?.();
  }

  private fire(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    if (this.stopped) return;
    const now = this.clock();
    // Reads due within the next few milliseconds go now too: one pass over the entries serves
    // several reads, instead of a timer and a pass per read.
    const horizon = now + Math.min(10, this.options.activeIntervalMs / 10);
    const due = [...this.entries.values()].filter((e) => this.idle(e) && e.subscribers.size > 0 && e.dueAt <= horizon);
    if (this.outage) {
      // One probe for the whole manager: the instance most overdue.
      const probe = due.sort((a, b) => a.dueAt - b.dueAt)[0] ?? [...this.entries.values()].find((e) => e.subscribers.size > 0 && this.idle(e));
      if (probe) {
        this.probing = true;
        void this.read(probe, 5).finally(() => {
          this.probing = false;
          this.arm();
        });
      }
    } else {
      for (const entry of due) void this.read(entry, 5);
    }
    this.arm();
  }

  private idle(entry: Entry): boolean {
    return !entry.inFlight && !entry.delivering;
  }

  /**
   * One read of the instance (joined if one is in flight). Its promise resolves as soon as the
   * answer is in, before the subscribers are told: a subscriber that itself asks for a read
   * (readNow) must not wait on its own delivery.
   */
  private read(entry: Entry, priority: number, retry = false): Promise<ReadOutcome> {
    entry.inFlight ??= this.slots
      .run(priority, () => this.fetch(entry.instance, retry))
      // Only stopped slots reject; fetch itself never does.
      .catch((error: unknown): ReadOutcome => ({ instance: entry.instance, at: this.clock(), ok: false, error }))
      .then((outcome) => {
        entry.inFlight = undefined;
        if (this.stopped) return outcome;
        const health = this.planNext(entry, outcome);
        const previous = entry.delivering ?? Promise.resolve();
        const delivery: Promise<void> = previous
          .then(() => this.deliver(entry, outcome, health))
          .finally(() => {
            if (entry.delivering === delivery) entry.delivering = undefined;
            if (entry.subscribers.size === 0 && this.idle(entry) && this.entries.get(entry.instance) === entry) this.entries.delete(entry.instance);
            this.armAt(entry.dueAt);
          });
        entry.delivering = delivery;
        return outcome;
      });
    return entry.inFlight;
  }

  private async fetch(instance: string, retry: boolean): Promise<ReadOutcome> {
    try {
      const view = await this.options.api.getInstance(instance, { retry, signal: this.abort.signal });
      return { instance, at: this.clock(), ok: true, view };
    } catch (error) {
      return { instance, at: this.clock(), ok: false, error };
    }
  }

  /** When the instance is read next, and the manager's health change this read shows, if any. */
  private planNext(entry: Entry, outcome: ReadOutcome): ManagerHealth | undefined {
    const interval = this.intervalOf(entry);
    const down = !outcome.ok && outcome.error instanceof UnavailableError;
    if (!down) {
      entry.failures = outcome.ok ? 0 : entry.failures + 1;
      if (entry.failures > 0) {
        entry.dueAt = outcome.at + Math.max(interval, backoffDelay(entry.failures - 1, this.backoffPolicy(interval), this.random));
      } else {
        // Keep the instance's phase: the next read is one interval after this one was due, not
        // after it answered, so latency and queueing do not stretch the interval (or bunch up a
        // spread watch list). Behind by more than that (a slow manager), read again at once.
        const next = Number.isFinite(entry.dueAt) ? entry.dueAt + interval : outcome.at + interval;
        entry.dueAt = Math.max(next, outcome.at);
      }
      if (!this.outage) return undefined;
      this.outage = undefined;
      return { up: true, at: outcome.at };
    }
    const outage = (this.outage ??= { since: outcome.at, probes: 0, nextProbeAt: outcome.at });
    outage.nextProbeAt = outcome.at + backoffDelay(outage.probes++, this.backoffPolicy(interval), this.random);
    return { up: false, at: outcome.at, since: outage.since, error: outcome.error as UnavailableError };
  }

  private async deliver(entry: Entry, outcome: ReadOutcome, health: ManagerHealth | undefined): Promise<void> {
    if (this.stopped) return;
    if (health) await this.tellHealth(health);
    for (const subscriber of [...entry.subscribers]) {
      try {
        await subscriber.listener(outcome);
      } catch (err) {
        this.options.logger.error({ instance: entry.instance, err }, 'a subscriber of the instance reader failed');
      }
    }
  }

  private backoffPolicy(interval: number): { retries: number; minDelayMs: number; maxDelayMs: number } {
    return { retries: Infinity, minDelayMs: interval, maxDelayMs: Math.max(interval, this.options.maxBackoffMs ?? 30_000) };
  }

  private async tellHealth(health: ManagerHealth): Promise<void> {
    for (const listener of this.health) {
      try {
        await listener(health);
      } catch (err) {
        this.options.logger.error({ err }, 'a health listener of the instance reader failed');
      }
    }
  }
}
