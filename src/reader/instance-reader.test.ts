import pino from 'pino';
import type { BackupManagerApi } from '../ports/backup-manager/api';
import { BadResponseError, UnavailableError } from '../domain/manager-errors';
import type { InstanceView } from '../ports/backup-manager/schemas';
import { InstanceReader, type ManagerHealth, type ReadOutcome } from './instance-reader';

const logger = pino({ level: 'silent' });

function emptyView(instance: string): InstanceView {
  return { id: 1, instanceGuid: instance, guid: null, backups: [], restores: [] };
}

/** A manager whose answers the test controls: each read waits for `gate` when one is set. */
class FakeApi implements BackupManagerApi {
  readonly reads: string[] = [];
  inFlight = 0;
  maxInFlight = 0;
  down = false;
  broken = new Set<string>();
  gate: Promise<void> | undefined;
  private readonly readListeners: (() => void)[] = [];

  async getInstance(instance: string): Promise<InstanceView> {
    this.reads.push(instance);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    this.readListeners.splice(0).forEach((l) => l());
    try {
      if (this.gate) await this.gate;
      if (this.down) throw new UnavailableError('connection refused', undefined, undefined, 'ECONNREFUSED');
      if (this.broken.has(instance)) throw new BadResponseError('not JSON', 200, undefined, '<html>');
      return emptyView(instance);
    } finally {
      this.inFlight--;
    }
  }

  /** Resolves at the next read that starts. */
  nextRead(): Promise<void> {
    return new Promise((resolve) => this.readListeners.push(resolve));
  }

  triggerBackup(): never {
    throw new Error('not used');
  }
  triggerRestore(): never {
    throw new Error('not used');
  }
  async close(): Promise<void> {}
}

function collect(): { outcomes: ReadOutcome[]; listener: (o: ReadOutcome) => void; next: (n?: number) => Promise<ReadOutcome[]> } {
  const outcomes: ReadOutcome[] = [];
  let waiters: { n: number; resolve: (o: ReadOutcome[]) => void }[] = [];
  return {
    outcomes,
    listener: (o) => {
      outcomes.push(o);
      waiters = waiters.filter((w) => (outcomes.length >= w.n ? (w.resolve(outcomes.slice()), false) : true));
    },
    next: (n = outcomes.length + 1) => new Promise((resolve) => (outcomes.length >= n ? resolve(outcomes.slice()) : waiters.push({ n, resolve }))),
  };
}

describe('InstanceReader', () => {
  let api: FakeApi;
  let reader: InstanceReader;

  function makeReader(overrides: Partial<ConstructorParameters<typeof InstanceReader>[0]> = {}): InstanceReader {
    reader = new InstanceReader({ api, logger, activeIntervalMs: 20, watchIntervalMs: 60_000, concurrency: 4, maxBackoffMs: 40, ...overrides });
    return reader;
  }

  beforeEach(() => {
    api = new FakeApi();
  });
  afterEach(async () => {
    await reader.stop();
  });

  it('reads an instance once per tick however many subscribers it has, and gives each the same answer', async () => {
    makeReader();
    const tracking = collect();
    const follow = collect();
    const watch = collect();
    reader.subscribe('a9s-pg', 'active', tracking.listener);
    reader.subscribe('a9s-pg', 'active', follow.listener);
    reader.subscribe('a9s-pg', 'watch', watch.listener);
    await tracking.next(3);
    expect(api.reads).toEqual(['a9s-pg', 'a9s-pg', 'a9s-pg']);
    expect(follow.outcomes.map((o) => o.at)).toEqual(tracking.outcomes.slice(0, follow.outcomes.length).map((o) => o.at));
    expect(watch.outcomes.length).toBeGreaterThanOrEqual(2);
    expect(watch.outcomes[0]).toBe(tracking.outcomes[0]);
  });

  it('reads at the fastest cadence any subscriber needs, and slows down when it leaves', async () => {
    makeReader({ watchIntervalMs: 60_000 });
    const watch = collect();
    reader.subscribe('pg-orders', 'watch', watch.listener);
    await watch.next(1); // the first watched instance gets phase 0: read at once
    expect(reader.schedule()).toEqual([{ instance: 'pg-orders', intervalMs: 60_000 }]);
    const active = reader.subscribe('pg-orders', 'active', () => undefined);
    await watch.next(3);
    expect(reader.schedule()).toEqual([{ instance: 'pg-orders', intervalMs: 20 }]);
    active.close();
    expect(reader.schedule()).toEqual([{ instance: 'pg-orders', intervalMs: 60_000 }]);
  });

  it('never has more than `concurrency` reads in flight', async () => {
    makeReader({ concurrency: 3 });
    let release: () => void = () => undefined;
    api.gate = new Promise((r) => (release = r));
    const seen = collect();
    for (let i = 0; i < 10; i++) reader.subscribe(`pg-${i}`, 'active', seen.listener);
    while (api.inFlight < 3) await api.nextRead();
    release();
    api.gate = undefined;
    await seen.next(10);
    expect(api.maxInFlight).toBe(3);
    expect(new Set(seen.outcomes.slice(0, 10).map((o) => o.instance)).size).toBe(10);
  });

  it('while the manager is down, sends one probe at a time, backs off for all, and tells health once per change', async () => {
    makeReader();
    const health: ManagerHealth[] = [];
    reader.onHealth((h) => void health.push(h));
    api.down = true;
    const seen = collect();
    for (let i = 0; i < 5; i++) reader.subscribe(`pg-${i}`, 'active', seen.listener);
    await seen.next(8);
    expect(api.maxInFlight).toBeLessThanOrEqual(5); // the first round went out before the outage was known
    const readsWhileDown = api.reads.length;
    api.maxInFlight = 0;
    await seen.next(seen.outcomes.length + 3);
    expect(api.maxInFlight).toBe(1); // once down: a single probe at a time
    expect(reader.managerDown()).toBe(true);
    api.down = false;
    await new Promise<void>((resolve) => reader.onHealth((h) => (h.up ? resolve() : undefined)));
    expect(health.filter((h) => h.up)).toHaveLength(1);
    expect(health.filter((h) => !h.up).every((h) => !h.up && h.since === (health[0] as { since: number }).since)).toBe(true);
    expect(readsWhileDown).toBeGreaterThan(0);
    expect(reader.managerDown()).toBe(false);
  });

  it('a broken answer from one instance backs off that instance only', async () => {
    makeReader();
    api.broken.add('pg-bad');
    const bad = collect();
    const good = collect();
    reader.subscribe('pg-bad', 'active', bad.listener);
    reader.subscribe('pg-good', 'active', good.listener);
    await good.next(6);
    expect(bad.outcomes.every((o) => !o.ok)).toBe(true);
    expect(bad.outcomes.length).toBeLessThan(good.outcomes.length);
    expect(reader.managerDown()).toBe(false);
  });

  it('readNow joins a read already in flight and its answer reaches the subscribers', async () => {
    makeReader({ activeIntervalMs: 60_000, watchIntervalMs: 60_000 });
    let release: () => void = () => undefined;
    api.gate = new Promise((r) => (release = r));
    const sub = collect();
    reader.subscribe('a9s-pg', 'active', sub.listener);
    const first = reader.readNow('a9s-pg');
    const second = reader.readNow('a9s-pg');
    const other = reader.readNow('pg-orders');
    release();
    const [a, b] = await Promise.all([first, second, other]);
    expect(a).toBe(b);
    expect(api.reads.sort()).toEqual(['a9s-pg', 'pg-orders']);
    expect(sub.outcomes).toHaveLength(1);
  });

  it('readNow rejects with the manager error', async () => {
    makeReader();
    api.down = true;
    await expect(reader.readNow('a9s-pg')).rejects.toBeInstanceOf(UnavailableError);
  });

  it('reads nothing after stop', async () => {
    makeReader();
    const sub = collect();
    reader.subscribe('a9s-pg', 'active', sub.listener);
    await sub.next(1);
    await reader.stop();
    const before = api.reads.length;
    // Prove time passed: a separate reader on the same api ticks several times meanwhile.
    const probe = new InstanceReader({ api, logger, activeIntervalMs: 20, watchIntervalMs: 20, concurrency: 1 });
    const other = collect();
    probe.subscribe('pg-other', 'active', other.listener);
    await other.next(3);
    await probe.stop();
    expect(api.reads.slice(before).every((i) => i === 'pg-other')).toBe(true);
  });

  it('spreads a long watch list over its interval instead of reading it in one burst', async () => {
    makeReader({ watchIntervalMs: 400, concurrency: 4 });
    const starts: number[] = [];
    const seen = collect();
    const t0 = Date.now();
    for (let i = 0; i < 40; i++) reader.subscribe(`pg-${i}`, 'watch', (o) => {
      starts.push(o.at - t0);
      seen.listener(o);
    });
    await seen.next(40);
    const firstHalf = starts.filter((t) => t < 200).length;
    // Evenly placed: about half in each half of the interval, never all at once.
    expect(firstHalf).toBeGreaterThanOrEqual(14);
    expect(firstHalf).toBeLessThanOrEqual(26);
  });
});
