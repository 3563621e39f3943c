import { once } from 'node:events';
import pino from 'pino';
import type { InstanceView } from '../../domain/backups';
import type { ReadListener, HealthListener } from '../../reader/instance-reader';
import { openStore, type Store } from '../../ports/store';
import { HomeService, type HomeServiceOptions, type PublishHome } from './home-service';

const PG = 'a9s-pg';
const BOUND_MS = 5_000;
const TTL_MS = 60_000;
const T0 = Date.UTC(2024, 0, 1);

/** The reader as the Home uses it: subscriptions it feeds by hand. */
class HandReader {
  readonly listeners = new Map<string, ReadListener>();
  subscribe(instance: string, _cadence: 'active' | 'watch', listener: ReadListener) {
    this.listeners.set(instance, listener);
    return { setCadence: () => undefined, close: () => this.listeners.delete(instance) };
  }
  onHealth(_listener: HealthListener): () => void {
    return () => undefined;
  }
  async read(instance: string, view: InstanceView): Promise<void> {
    await this.listeners.get(instance)?.({ instance, at: Date.now(), ok: true, view });
  }
}

/** One backup of `instance`, `size` bytes, with its agent task (what the overview shows of it). */
function viewWith(backups: Array<{ id: number; status: 'done' | 'failed'; size: number; msg?: string }>): InstanceView {
  return {
    id: 38,
    instanceGuid: PG,
    guid: null,
    restores: [],
    backups: backups.map((b) => ({
      id: b.id,
      backupName: `${PG}-${b.id}`,
      instanceId: 38,
      size: b.size,
      downloadable: true,
      status: b.status,
      task: { id: b.id, taskId: b.id, status: b.status, rawStatus: b.status, msg: b.msg ?? null, createdAt: new Date(T0 - 3_600_000).toISOString(), updatedAt: null },
    })),
  };
}

const GOOD = viewWith([{ id: 1, status: 'done', size: 3 * 1024 * 1024 }]);
const FAILED = viewWith([
  { id: 1, status: 'done', size: 3 * 1024 * 1024 },
  { id: 2, status: 'failed', size: 0, msg: 'disk full' },
]);

/** Two replicas' Home services on one store: the shared PostgreSQL of several replicas. */
describe('HomeService with its openers in the store', () => {
  let store: Store;
  let services: HomeService[];
  let published: Array<{ by: string; user: string; json: string; at: number }>;

  beforeEach(() => {
    jest.useFakeTimers({ now: T0 });
    store = openStore(':memory:');
    services = [];
    published = [];
  });
  afterEach(() => {
    for (const s of services) s.stop();
    store.close();
    jest.useRealTimers();
  });

  function replica(name: string, over: Partial<HomeServiceOptions> = {}): { home: HomeService; reader: HandReader } {
    const reader = new HandReader();
    const publish: PublishHome = (user, view) => {
      published.push({ by: name, user, json: JSON.stringify(view), at: Date.now() });
      return Promise.resolve();
    };
    const home = new HomeService({
      reader,
      api: {},
      store,
      config: { watchInstances: [PG], allowedInstances: [], defaultInstance: PG, staleAfterHours: 26, notifyChannel: undefined, watchIntervalMs: 60_000 },
      logger: pino({ level: 'silent' }),
      publish,
      minIntervalMs: BOUND_MS,
      openerTtlMs: TTL_MS,
      ...over,
    });
    services.push(home);
    return { home, reader };
  }

  /** A leader that has read the instance once. */
  async function leader(name = 'leader'): Promise<{ home: HomeService; reader: HandReader }> {
    const r = replica(name);
    r.home.start();
    await r.reader.read(PG, GOOD);
    return r;
  }

  it('the leader records the opener and publishes its read at once', async () => {
    const { home } = await leader();
    const accepted = once(home.events, 'published');
    home.opened('U0ALICE', 'D0ALICE');
    expect(published).toHaveLength(1);
    await accepted;
    expect(published[0]).toMatchObject({ by: 'leader', user: 'U0ALICE' });
    expect(published[0]?.json).toContain('3.0 MiB');
    expect(store.homeOpeners.since(0)).toEqual([{ user: 'U0ALICE', channel: 'D0ALICE', openedAt: T0, opens: 1, publishedAt: T0 }]);
  });

  it('a follower publishes nothing: it records the opener and notifies; the leader picks it up and publishes its read, then each change', async () => {
    const notify = jest.fn();
    const { home: lead, reader } = await leader();
    const follower = replica('follower', { notifyLeader: notify }).home;
    follower.opened('U0ALICE', 'D0ALICE');
    expect(notify).toHaveBeenCalledTimes(1);
    expect(published).toEqual([]);
    expect(store.homeOpeners.since(0).map((o) => o.user)).toEqual(['U0ALICE']);

    lead.pickUp();
    expect(published.map((p) => [p.by, p.user])).toEqual([['leader', 'U0ALICE']]);
    expect(published[0]?.json).toContain('3.0 MiB');
    expect(published[0]?.json).toContain('D0ALICE');

    // Nothing new in the store: the next round publishes nothing.
    lead.pickUp();
    expect(published).toHaveLength(1);

    // A later change is published again, within the bound.
    await reader.read(PG, FAILED);
    expect(published).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(BOUND_MS);
    expect(published).toHaveLength(2);
    expect(published[1]?.json).toContain('disk full');
    expect((published[1]?.at ?? 0) - (published[0]?.at ?? 0)).toBeGreaterThanOrEqual(BOUND_MS);
    expect(published.map((p) => p.by)).toEqual(['leader', 'leader']);
  });

  it('an opening through a follower of someone the leader already serves is published again, unchanged as it is', async () => {
    const { home: lead } = await leader();
    const follower = replica('follower').home;
    lead.opened('U0ALICE', 'D0ALICE');
    await jest.advanceTimersByTimeAsync(BOUND_MS);
    follower.opened('U0ALICE', 'D0ALICE');
    lead.pickUp();
    expect(published.map((p) => p.by)).toEqual(['leader', 'leader']);
    expect(published[1]?.json).toBe(published[0]?.json);
  });

  it('after a failover the new leader refreshes the Homes its predecessor did, not before its first read, within the bound', async () => {
    const first = await leader('first');
    first.home.opened('U0ALICE', 'D0ALICE');
    expect(published).toHaveLength(1);
    first.home.stop();

    await jest.advanceTimersByTimeAsync(1_000);
    const next = replica('next');
    next.home.start();
    // The sweep runs meanwhile; with nothing read yet the new leader keeps the Home as it is.
    await jest.advanceTimersByTimeAsync(BOUND_MS);
    expect(published).toHaveLength(1);
    await next.reader.read(PG, FAILED);
    expect(published.map((p) => p.by)).toEqual(['first', 'next']);
    expect(published[1]?.json).toContain('disk full');
    expect(published[1]?.json).toContain('D0ALICE');
  });

  it('the new leader holds to the bound its predecessor started', async () => {
    const first = await leader('first');
    first.home.opened('U0ALICE', 'D0ALICE');
    first.home.stop();
    await jest.advanceTimersByTimeAsync(1_000);
    const next = replica('next');
    next.home.start();
    await next.reader.read(PG, FAILED);
    expect(published).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(BOUND_MS - 1_000);
    expect(published.map((p) => [p.by, p.at - T0])).toEqual([
      ['first', 0],
      ['next', BOUND_MS],
    ]);
  });

  it('a new leader serves an opening no leader published yet (its predecessor died first) with its first read, not before', async () => {
    replica('follower').home.opened('U0ALICE', 'D0ALICE');
    const next = replica('next');
    next.home.start();
    await jest.advanceTimersByTimeAsync(BOUND_MS);
    expect(published).toEqual([]);
    await next.reader.read(PG, GOOD);
    expect(published.map((p) => [p.by, p.user])).toEqual([['next', 'U0ALICE']]);
    expect(published[0]?.json).toContain('3.0 MiB');
  });

  it('an opening a follower took before the leader read anything is published with the first read', async () => {
    const lead = replica('leader');
    lead.home.start();
    replica('follower').home.opened('U0ALICE', 'D0ALICE');
    lead.home.pickUp();
    await jest.advanceTimersByTimeAsync(BOUND_MS);
    expect(published).toEqual([]);
    await lead.reader.read(PG, GOOD);
    expect(published.map((p) => p.by)).toEqual(['leader']);
    expect(published[0]?.json).toContain('3.0 MiB');
  });

  it('someone who opens it on the leader before its first read gets the view at once, as from one bot', () => {
    const lead = replica('leader');
    lead.home.start();
    lead.home.opened('U0ALICE', 'D0ALICE');
    expect(published.map((p) => p.by)).toEqual(['leader']);
  });

  it('forgets openers older than the TTL: no more refreshes, and their rows are deleted', async () => {
    const { home, reader } = await leader();
    home.opened('U0ALICE', 'D0ALICE');
    await jest.advanceTimersByTimeAsync(TTL_MS / 2);
    home.opened('U0BOB', 'D0BOB');
    await jest.advanceTimersByTimeAsync(TTL_MS / 2 + BOUND_MS);
    expect(store.homeOpeners.since(0).map((o) => o.user)).toEqual(['U0BOB']);
    const before = published.length;
    await reader.read(PG, FAILED);
    await jest.advanceTimersByTimeAsync(BOUND_MS);
    expect(published.slice(before).map((p) => p.user)).toEqual(['U0BOB']);
  });

  it('one bot (always the leader): opened() publishes at once, as before, and notifies nobody', async () => {
    const notify = jest.fn();
    const { home, reader } = replica('one', { notifyLeader: notify });
    home.start();
    await reader.read(PG, GOOD);
    home.opened('U0ALICE', undefined);
    expect(published.map((p) => p.user)).toEqual(['U0ALICE']);
    expect(notify).not.toHaveBeenCalled();
  });
});
