import Bottleneck from 'bottleneck';
import type { Logger } from 'pino';
import type { BackupManagerApi } from '../backup-manager/api';
import { UnavailableError } from '../backup-manager/errors';
import { backoffDelay } from '../backup-manager/retry';
import type { InstanceView } from '../backup-manager/schemas';

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
  private readonly limiter: Bottleneck;
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
    this.limiter = new Bottleneck({ maxConcurrent: Math.max(1, options.concurrency) });
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
        if (entry.subscribers.size === 0 && !entry.inFlight && this.entries.get(instance) === entry) this.entries.delete(instance);
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
   */
  async readNow(instance: string): Promise<InstanceView> {
    let entry = this.entries.get(instance);
    if (!entry) {
      // Kept in the map while in flight so a second readNow joins it; dropped when it settles.
      entry = { instance, subscribers: new Set(), dueAt: Infinity, failures: 0, inFlight: undefined };
      this.entries.set(instance, entry);
    }
    const outcome = await this.read(entry, 1);
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
    const inFlight = [...this.entries.values()].map((e) => e.inFlight).filter((p): p is Promise<ReadOutcome> => p !== undefined);
    await Promise.allSettled(inFlight);
    await this.limiter.stop({ dropWaitingJobs: true }).catch(() => undefined);
  }

  private entryFor(instance: string, cadence: Cadence): Entry {
    const existing = this.entries.get(instance);
    if (existing) return existing;
    const now = this.clock();
    // A watched instance gets its own phase in the interval; an active one is read one interval on.
    const dueAt = cadence === 'watch' ? now + ((this.placed++ * GOLDEN) % 1) * this.options.watchIntervalMs : now + this.options.activeIntervalMs;
    const entry: Entry = { instance, subscribers: new Set(), dueAt, failures: 0, inFlight: undefined };
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
    this.arm();
  }

  private arm(): void {
    if (this.stopped) return;
    let next = Infinity;
    if (this.outage) {
      if (!this.probing) next = this.outage.nextProbeAt;
    } else {
      for (const e of this.entries.values()) if (!e.inFlight && e.subscribers.size > 0 && e.dueAt < next) next = e.dueAt;
    }
    if (next === Infinity || next >= this.timerAt) return;
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
    const due = [...this.entries.values()].filter((e) => !e.inFlight && e.subscribers.size > 0 && e.dueAt <= now);
    if (this.outage) {
      // One probe for the whole manager: the instance most overdue.
      const probe = due.sort((a, b) => a.dueAt - b.dueAt)[0] ?? [...this.entries.values()].find((e) => e.subscribers.size > 0 && !e.inFlight);
      if (probe) {
        this.probing = true;
        void this.read(probe, 5).finally(() => {
          this.probing = false;
          this.arm();
        });
      }
    } else {
      for (const entry of due) void this.read(entry, 5).finally(() => this.arm());
    }
    this.arm();
  }

  private read(entry: Entry, priority: number): Promise<ReadOutcome> {
    entry.inFlight ??= this.limiter
      .schedule({ priority }, () => this.fetch(entry.instance))
      // Only a stopped limiter rejects; fetch itself never does.
      .catch((error: unknown): ReadOutcome => ({ instance: entry.instance, at: this.clock(), ok: false, error }))
      .then(async (outcome) => {
        entry.inFlight = undefined;
        await this.settle(entry, outcome);
        return outcome;
      });
    return entry.inFlight;
  }

  private async fetch(instance: string): Promise<ReadOutcome> {
    try {
      const view = await this.options.api.getInstance(instance, { retry: false, signal: this.abort.signal });
      return { instance, at: this.clock(), ok: true, view };
    } catch (error) {
      return { instance, at: this.clock(), ok: false, error };
    }
  }

  private async settle(entry: Entry, outcome: ReadOutcome): Promise<void> {
    if (this.stopped) return;
    const interval = this.intervalOf(entry);
    const down = !outcome.ok && outcome.error instanceof UnavailableError;
    if (outcome.ok || !down) {
      entry.failures = outcome.ok ? 0 : entry.failures + 1;
      const extra = entry.failures === 0 ? 0 : backoffDelay(entry.failures - 1, this.backoffPolicy(interval), this.random);
      entry.dueAt = outcome.at + Math.max(interval, extra);
      if (this.outage) {
        this.outage = undefined;
        await this.tellHealth({ up: true, at: outcome.at });
      }
    } else {
      const outage = (this.outage ??= { since: outcome.at, probes: 0, nextProbeAt: outcome.at });
      outage.nextProbeAt = outcome.at + backoffDelay(outage.probes++, this.backoffPolicy(interval), this.random);
      entry.dueAt = Math.min(entry.dueAt, outage.nextProbeAt);
      await this.tellHealth({ up: false, at: outcome.at, since: outage.since, error: outcome.error as UnavailableError });
    }
    for (const subscriber of [...entry.subscribers]) {
      try {
        await subscriber.listener(outcome);
      } catch (err) {
        this.options.logger.error({ instance: entry.instance, err }, 'a subscriber of the instance reader failed');
      }
    }
    if (entry.subscribers.size === 0 && this.entries.get(entry.instance) === entry) this.entries.delete(entry.instance);
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
