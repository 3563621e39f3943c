import { once } from 'node:events';
import pino from 'pino';
import type { InstanceView } from '../../domain/backups';
import type { ReadListener, HealthListener } from '../../reader/instance-reader';
import { openStore, type Store } from '../../ports/store';
import { UnavailableError } from '../../domain/manager-errors';
import { renderOverviewMessage } from '../../outbound/messages/home';
import { HomeService, type HomeServiceOptions, type PublishHome } from './home-service';
import { lateAfterMs } from './overview';

const PG = 'a9s-pg';
const BOUND_MS = 5_000;
const TTL_MS = 60_000;
const T0 = Date.UTC(2024, 0, 1);
const WATCH_MS = 60_000;

/** The reader as the Home uses it: subscriptions it feeds by hand. */
class HandReader {
  readonly listeners = new Map<string, ReadListener>();
  subscribe(instance: string, _cadence: 'active' | 'watch', listener: ReadListener) {
    this.listeners.set(instance, listener);
    return { setCadence: () => undefined, close: () => this.listeners.delete(instance) };
  }
  private health: HealthListener | undefined;
  onHealth(listener: HealthListener): () => void {
    this.health = listener;
    return () => (this.health = undefined);
  }
  async down(since: number): Promise<void> {
    await this.health?.({ up: false, at: Date.now(), since, error: new UnavailableError('connect ECONNREFUSED', undefined, undefined, 'ECONNREFUSED') });
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
      config: { watchInstances: [PG], allowedInstances: [], defaultInstance: PG, staleAfterHours: 26, notifyChannel: undefined, watchIntervalMs: WATCH_MS },
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

  describe('the overview (`/pgbackup status`) on any replica', () => {
    it("a follower shows the leader's read, its time and the manager health: the same overview as the leader's", async () => {
      const follower = replica('follower').home;
      expect(follower.overview().instances[0]?.readAt).toBeUndefined();
      const { home: lead, reader } = await leader();
      const shown = follower.overview();
      expect(shown).toEqual(lead.overview());
      expect(shown.instances[0]).toMatchObject({ instance: PG, readAt: T0, readLate: false, lastGood: { id: 1, size: 3 * 1024 * 1024 } });
      expect(shown.manager).toMatchObject({ up: true, readAt: T0, readLate: false });

      await jest.advanceTimersByTimeAsync(1_000);
      await reader.read(PG, FAILED);
      await reader.down(T0 + 1_500);
      expect(follower.overview()).toEqual(lead.overview());
      expect(follower.overview().instances[0]).toMatchObject({ readAt: T0 + 1_000, lastFailure: { id: 2, msg: 'disk full' } });
      expect(follower.overview().manager).toMatchObject({ up: false, since: T0 + 1_500 });
    });

    it('the leader gone: a follower goes on showing its last read, with its time, and calls it late once the watch cadence does not explain its age', async () => {
      const { home: lead } = await leader();
      lead.stop();
      const follower = replica('follower').home;
      await jest.advanceTimersByTimeAsync(lateAfterMs(WATCH_MS));
      expect(follower.overview().instances[0]).toMatchObject({ readAt: T0, readLate: false });
      const seconds = Math.floor(T0 / 1000);
      expect(JSON.stringify(renderOverviewMessage(follower.overview()))).toContain(`Read <!date^${seconds}^`);

      await jest.advanceTimersByTimeAsync(1);
      const late = follower.overview();
      expect(late.instances[0]).toMatchObject({ readAt: T0, readLate: true, lastGood: { id: 1 } });
      expect(late.manager).toMatchObject({ up: true, readAt: T0, readLate: true });
      expect(JSON.stringify(renderOverviewMessage(late))).toContain(`Last read <!date^${seconds}^`);
      expect(JSON.stringify(renderOverviewMessage(late))).toContain('may be out of date');
    });

    it('shows a stored read the schema refuses as not read, and ignores reads of instances no longer watched', async () => {
      const follower = replica('follower').home;
      store.db.prepare('INSERT INTO instance_reads (instance, view, read_at) VALUES (?, ?, ?)').run(PG, '{"id":"38"}', T0);
      store.reads.put('pg-gone', GOOD, T0);
      const o = follower.overview();
      expect(o.instances.map((i) => [i.instance, i.readAt])).toEqual([[PG, undefined]]);
      expect(o.manager.readAt).toBeUndefined();
      expect(JSON.stringify(renderOverviewMessage(o))).toContain('not read yet');
      // The next read of the leader replaces it; leading, it forgets the unwatched instance's read.
      await leader();
      expect(follower.overview().instances[0]?.readAt).toBe(T0);
      expect(store.reads.all().map((r) => r.instance)).toEqual([PG]);
    });

    it('writes once per read and the health once per change', async () => {
      const { reader } = await leader();
      const put = jest.spyOn(store.reads, 'put');
      const putHealth = jest.spyOn(store.reads, 'putHealth');
      await reader.read(PG, GOOD);
      await reader.read(PG, FAILED);
      expect(put).toHaveBeenCalledTimes(2);
      expect(putHealth).not.toHaveBeenCalled();
      await reader.down(T0);
      expect(putHealth).toHaveBeenCalledTimes(1);
    });

    it('a failed write of the health is tried again at the next read', async () => {
      const lead = replica('leader');
      lead.home.start();
      const putHealth = jest.spyOn(store.reads, 'putHealth').mockImplementationOnce(() => {
        throw new Error('connection lost');
      });
      await lead.reader.read(PG, GOOD);
      expect(store.reads.health()).toBeUndefined();
      await lead.reader.read(PG, GOOD);
      expect(putHealth).toHaveBeenCalledTimes(2);
      expect(store.reads.health()).toEqual({ up: true, since: T0 });
    });
  });
});
