import { createServer, connect, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Client } from 'pg';
import pino from 'pino';
import { z } from 'zod';
import { freshDatabase, testPostgres } from '../../../test/pg/postgres';
import { startTcpProxy, type TcpProxy } from '../../../test/helpers/tcp-proxy';
import { SoleLeadership, type Role } from './leadership';
import { PgLeadership, type PgLeadershipOptions } from './pg-leadership';

/** Short timings: heartbeat + timeout (300 ms) well inside the lease (1000 ms). */
const TIMING = { retryMs: 100, heartbeatMs: 100, heartbeatTimeoutMs: 200, leaseMs: 1000 };
/** The bound of every wait: far beyond what any step should take, so only a bug reaches it. */
const WAIT_MS = 5000;

const DDL = `CREATE TABLE IF NOT EXISTS leadership (
  id     INTEGER PRIMARY KEY CHECK (id = 1),
  epoch  BIGINT  NOT NULL,
  holder TEXT    NOT NULL,
  since  BIGINT  NOT NULL
)`;

interface Change {
  who: string;
  role: Role;
  epoch: number | null;
  /** performance.now() when the listener ran. */
  at: number;
}

/** Resolves when `ready()` holds, checked on every `poke()`; rejects after `ms`. */
class Waiters {
  private readonly waiting = new Set<() => boolean>();

  poke(): void {
    for (const check of [...this.waiting]) check();
  }

  until<T>(ready: () => T | undefined, what: string, ms = WAIT_MS): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const check = (): boolean => {
        const value = ready();
        if (value === undefined) return false;
        clearTimeout(timer);
        this.waiting.delete(check);
        resolve(value);
        return true;
      };
      const timer = setTimeout(() => {
        this.waiting.delete(check);
        reject(new Error(`timed out after ${ms} ms waiting for ${what}`));
      }, ms);
      this.waiting.add(check);
      check();
    });
  }
}

/** The replicas of one test, what they said (changes and logs), and everything to close after it. */
class Cluster {
  readonly changes: Change[] = [];
  readonly logs: string[] = [];
  /** Moments at which more than one replica said it was leader. */
  readonly overlaps: string[] = [];
  readonly waiters = new Waiters();
  private readonly replicas = new Map<string, PgLeadership>();
  private readonly closers: (() => Promise<void>)[] = [];

  replica(who: string, connectionString: string, extra: Partial<PgLeadershipOptions> = {}): PgLeadership {
    const logger = pino({ level: 'debug' }, { write: (line: string) => void this.logs.push(line) });
    const l = new PgLeadership({ connectionString, holder: who, logger, ...TIMING, ...extra });
    l.onChange((role, epoch) => {
      this.changes.push({ who, role, epoch, at: performance.now() });
      const leaders = [...this.replicas].filter(([, r]) => r.role() === 'leader').map(([name]) => name);
      if (leaders.length > 1) this.overlaps.push(leaders.join(','));
      this.waiters.poke();
    });
    this.replicas.set(who, l);
    this.closers.push(() => l.stop());
    return l;
  }

  get(who: string): PgLeadership {
    const l = this.replicas.get(who);
    if (!l) throw new Error(`no replica ${who}`);
    return l;
  }

  /** The first change from index `from` on that matches. */
  change(match: (c: Change) => boolean, what: string, from = 0): Promise<Change> {
    return this.waiters.until(() => this.changes.slice(from).find(match), what);
  }

  leaderAfter(from: number, who?: string): Promise<Change> {
    return this.change((c) => c.role === 'leader' && (who === undefined || c.who === who), `${who ?? 'a replica'} to lead`, from);
  }

  followerAfter(from: number, who: string): Promise<Change> {
    return this.change((c) => c.role === 'follower' && c.who === who, `${who} to step down`, from);
  }

  logged(level: number): { msg: string; reason?: string }[] {
    const Line = z.object({ level: z.number(), msg: z.string(), reason: z.string().optional() });
    return this.logs.map((l) => Line.parse(JSON.parse(l))).filter((l) => l.level === level);
  }

  onClose(close: () => Promise<void>): void {
    this.closers.push(close);
  }

  async close(): Promise<void> {
    // Replicas first (registered first), then proxies and servers they may still be using.
    for (const close of this.closers.splice(0)) await close();
  }
}

let cluster: Cluster;
beforeEach(() => {
  cluster = new Cluster();
});
afterEach(async () => {
  await cluster.close();
  // Whatever happened, the logs never held the database password.
  expect(cluster.logs.join('\n')).not.toContain(testPostgres().password);
});

async function admin(db: string): Promise<Client> {
  const client = new Client({ connectionString: db });
  await client.connect();
  cluster.onClose(() => client.end());
  return client;
}

async function leadershipDatabase(): Promise<{ db: string; admin: Client }> {
  const db = await freshDatabase('lead');
  const a = await admin(db);
  await a.query(DDL);
  return { db, admin: a };
}

function withPort(db: string, port: number): string {
  const url = new URL(db);
  url.port = String(port);
  return url.toString();
}

async function proxyTo(db: string): Promise<TcpProxy> {
  const proxy = await startTcpProxy(Number(new URL(db).port));
  cluster.onClose(() => proxy.close());
  return proxy;
}

const Row = z.object({ epoch: z.string(), holder: z.string() });

describe('PgLeadership', () => {
  it('three replicas: one leader at a time, a stopped leader replaced within about retryMs, the epoch growing', async () => {
    const { db, admin: a } = await leadershipDatabase();
    for (const who of ['a', 'b', 'c']) await cluster.replica(who, db).start();

    let current = await cluster.leaderAfter(0);
    const epochs = [current.epoch];
    for (let round = 0; round < 2; round++) {
      const mark = cluster.changes.length;
      const stoppedAt = performance.now();
      await cluster.get(current.who).stop();
      const next = await cluster.leaderAfter(mark);
      expect(next.who).not.toBe(current.who);
      // The stopped leader let go of the lock: nobody waited for the server's lease.
      expect(next.at - stoppedAt).toBeLessThan(TIMING.leaseMs / 2);
      // It said so before the next one led.
      const down = cluster.changes.slice(mark).findIndex((c) => c.who === current.who && c.role === 'follower');
      expect(down).toBeGreaterThanOrEqual(0);
      expect(down).toBeLessThan(cluster.changes.slice(mark).indexOf(next));
      epochs.push(next.epoch);
      current = next;
    }

    expect(epochs).toEqual([1, 2, 3]);
    expect(cluster.overlaps).toEqual([]);
    const leader = cluster.get(current.who);
    expect([leader.role(), leader.epoch()]).toEqual(['leader', 3]);
    expect(Row.parse((await a.query('SELECT epoch, holder FROM leadership')).rows[0])).toEqual({ epoch: '3', holder: current.who });
    const became = cluster.logs.map((l) => JSON.parse(l) as { msg: string; epoch?: number; holder?: string }).filter((l) => l.msg === 'became leader');
    expect(became.map((l) => [l.epoch, l.holder])).toEqual(epochs.map((e, i) => [e, cluster.changes.filter((c) => c.role === 'leader')[i]?.who]));
  });

  it('a healthy leader keeps its session, its lock and its epoch over several leases; a follower keeps its session', async () => {
    const { db, admin: pg } = await leadershipDatabase();
    const proxy = await proxyTo(db);
    await cluster.replica('a', withPort(db, proxy.port)).start();
    await cluster.leaderAfter(0, 'a');
    await cluster.replica('b', db).start();
    const lockHolder = async (): Promise<unknown> =>
      (await pg.query(`SELECT l.pid, s.backend_start FROM pg_locks l JOIN pg_stat_activity s ON s.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted AND s.datname = current_database()`)).rows;
    const before = await lockHolder();

    // Two leases' worth of heartbeats through the proxy: the idle timeout would have ended a silent session twice.
    const mark = cluster.changes.length;
    let chunks = 0;
    proxy.onForward(() => (chunks++, cluster.waiters.poke()));
    const beats = (2 * TIMING.leaseMs) / TIMING.heartbeatMs;
    await cluster.waiters.until(() => (chunks >= beats ? true : undefined), `${beats} heartbeats`);

    expect(cluster.changes.slice(mark)).toEqual([]);
    expect([cluster.get('a').role(), cluster.get('a').epoch(), cluster.get('b').role()]).toEqual(['leader', 1, 'follower']);
    expect(await lockHolder()).toEqual(before);
    expect(cluster.logged(40)).toEqual([]);
  });

  it('a terminated lock session: its leader steps down and a new leadership follows with a higher epoch', async () => {
    const { db, admin: a } = await leadershipDatabase();
    for (const who of ['a', 'b', 'c']) await cluster.replica(who, db).start();
    const first = await cluster.leaderAfter(0);

    const locks = await a.query(
      `SELECT l.pid, s.application_name FROM pg_locks l JOIN pg_stat_activity s ON s.pid = l.pid
       WHERE l.locktype = 'advisory' AND l.granted AND s.datname = current_database()`,
    );
    const Lock = z.object({ pid: z.number(), application_name: z.string() });
    expect(locks.rows.map((r) => Lock.parse(r).application_name)).toEqual([`pgbackup-bot leadership ${first.who}`]);
    const { pid } = Lock.parse(locks.rows[0]);

    const mark = cluster.changes.length;
    await a.query('SELECT pg_terminate_backend($1)', [pid]);
    await cluster.followerAfter(mark, first.who);
    const next = await cluster.leaderAfter(mark);
    expect(next.epoch).toBe((first.epoch ?? 0) + 1);
    expect(cluster.get(first.who).epoch()).toBe(next.who === first.who ? next.epoch : null);
    expect(cluster.logged(40).map((l) => l.msg)).toContain('leadership connection lost');
  });

  it('a partitioned leader steps down before another replica can take the lock', async () => {
    const { db } = await leadershipDatabase();
    const proxy = await proxyTo(db);
    await cluster.replica('a', withPort(db, proxy.port)).start();
    const a = await cluster.leaderAfter(0, 'a');
    await cluster.replica('b', db).start();

    const mark = cluster.changes.length;
    const frozenAt = performance.now();
    proxy.freeze();
    const down = await cluster.followerAfter(mark, 'a');
    const up = await cluster.leaderAfter(mark, 'b');

    expect(down.at).toBeLessThan(up.at);
    // a noticed within its deadline (heartbeat + timeout, plus timer slack), long before the lease ran out
    expect(down.at - frozenAt).toBeLessThan(TIMING.leaseMs / 2);
    // b got the lock only when the server gave up on a's silent session
    expect(up.at - frozenAt).toBeGreaterThan(TIMING.leaseMs / 2);
    expect(up.epoch).toBe((a.epoch ?? 0) + 1);
    expect(cluster.overlaps).toEqual([]);
    const stepped = cluster.logged(30).find((l) => l.msg === 'stepped down');
    expect(stepped?.reason).toMatch(/heartbeat timeout|timed out/);
  });

  it('stop() of a leader cut off from the database returns within bounded time, as follower', async () => {
    const { db } = await leadershipDatabase();
    const proxy = await proxyTo(db);
    const a = cluster.replica('a', withPort(db, proxy.port));
    await a.start();
    await cluster.leaderAfter(0, 'a');

    proxy.freeze();
    const mark = cluster.changes.length;
    const t0 = performance.now();
    await a.stop();
    // The unlock can not be answered: it gives up after heartbeatTimeoutMs and drops the socket.
    expect(performance.now() - t0).toBeLessThan(TIMING.heartbeatTimeoutMs + 500);
    expect(cluster.changes.slice(mark).map((c) => [c.who, c.role])).toEqual([['a', 'follower']]);
    expect(a.role()).toBe('follower');
  });

  it('a leader whose event loop stalled past its deadline is follower at the next role(), before any timer ran', async () => {
    const { db } = await leadershipDatabase();
    const a = cluster.replica('a', db);
    await a.start();
    await cluster.leaderAfter(0, 'a');

    const mark = cluster.changes.length;
    const until = performance.now() + TIMING.heartbeatMs + TIMING.heartbeatTimeoutMs + 50;
    // A long garbage collection, say: nothing else runs meanwhile.
    while (performance.now() < until) {
      /* spin */
    }
    expect(a.role()).toBe('follower');
    expect(a.epoch()).toBeNull();
    const down = cluster.changes.slice(mark);
    expect(down.map((c) => [c.who, c.role])).toEqual([['a', 'follower']]);
    // It dropped the old session (and with it the lock) at once, campaigned again on a new
    // connection and, alone, won a new epoch long before the server's lease could have ended.
    const again = await cluster.leaderAfter(mark, 'a');
    expect(again.epoch).toBe(2);
    expect(again.at - (down[0]?.at ?? 0)).toBeLessThan(TIMING.leaseMs / 2);
  });

  it("forwards NOTIFY of a listened channel to the leader's onNotify, and moves with the leadership", async () => {
    const { db, admin: pg } = await leadershipDatabase();
    const heard = { a: 0, b: 0 };
    const listen = { listenChannels: ['outbox'] };
    const a = cluster.replica('a', db, listen);
    const b = cluster.replica('b', db, listen);
    a.onNotify('outbox', () => (heard.a++, cluster.waiters.poke()));
    b.onNotify('outbox', () => (heard.b++, cluster.waiters.poke()));
    expect(() => a.onNotify('elsewhere', () => undefined)).toThrow(/listenChannels/);
    await a.start();
    await cluster.leaderAfter(0, 'a');
    await b.start();

    await pg.query('NOTIFY outbox');
    await cluster.waiters.until(() => (heard.a === 1 ? true : undefined), 'a to hear the NOTIFY');
    // b follows and does not listen; it would have heard the same NOTIFY by now.
    expect(heard.b).toBe(0);

    const mark = cluster.changes.length;
    await a.stop();
    await cluster.leaderAfter(mark, 'b');
    await pg.query("SELECT pg_notify('outbox', 'x')");
    await cluster.waiters.until(() => (heard.b === 1 ? true : undefined), 'b to hear the NOTIFY');
    expect(heard).toEqual({ a: 1, b: 1 });
  });

  it('logs connection failures once per spell, uses a separate password, never logs it', async () => {
    const { db } = await leadershipDatabase();
    const target = new URL(db);
    // In front of the database: refuses (accepts and drops) until told to forward.
    let mode: 'refuse' | 'forward' = 'refuse';
    let refused = 0;
    const open = new Set<Socket>();
    const gate: Server = createServer((s) => {
      open.add(s);
      s.on('close', () => open.delete(s));
      s.on('error', () => undefined);
      if (mode === 'refuse') {
        refused++;
        s.destroy();
        cluster.waiters.poke();
        return;
      }
      const up = connect(Number(target.port), '127.0.0.1');
      open.add(up);
      up.on('close', () => open.delete(up));
      up.on('error', () => undefined);
      s.pipe(up).pipe(s);
      s.on('close', () => up.destroy());
      up.on('close', () => s.destroy());
    });
    await new Promise<void>((resolve) => gate.listen(0, '127.0.0.1', resolve));
    cluster.onClose(() => {
      for (const s of open) s.destroy();
      return new Promise<void>((resolve) => gate.close(() => resolve()));
    });
    const address = gate.address();
    if (address === null || typeof address === 'string') throw new Error('no port');

    const password = testPostgres().password;
    const url = new URL(withPort(db, address.port));
    url.password = '';
    const a = cluster.replica('a', url.toString(), { password });
    await a.start();

    await cluster.waiters.until(() => (refused >= 4 ? true : undefined), 'four refused connections');
    expect(cluster.logged(40).map((l) => l.msg)).toEqual(['leadership connection failing; retrying']);

    mode = 'forward';
    await cluster.leaderAfter(0, 'a');
    expect(cluster.logged(30).map((l) => l.msg)).toEqual(expect.arrayContaining(['leadership connection working again', 'became leader']));

    // A new spell: the leader loses its connection (warned), then fails to reconnect (not again).
    mode = 'refuse';
    const before = refused;
    const mark = cluster.changes.length;
    for (const s of open) s.destroy();
    await cluster.followerAfter(mark, 'a');
    await cluster.waiters.until(() => (refused >= before + 3 ? true : undefined), 'three more refused connections');
    expect(cluster.logged(40).map((l) => l.msg)).toEqual(['leadership connection failing; retrying', 'leadership connection lost']);
  });

  it('tells listeners of changes in order, even when a listener causes the next one', async () => {
    const { db } = await leadershipDatabase();
    const a = cluster.replica('a', db);
    const seen: string[] = [];
    let stopped: Promise<void> | undefined;
    a.onChange((role) => {
      if (role === 'leader') stopped = a.stop();
    });
    a.onChange((role, epoch) => void seen.push(`${role}:${String(epoch)}`));
    await a.start();
    await cluster.followerAfter(0, 'a');
    await stopped;
    expect(seen).toEqual(['leader:1', 'follower:null']);
  });

  it('rejects timings where a partitioned leader could outlive its lock', () => {
    const base = { connectionString: 'postgres://bot@127.0.0.1:1/none', holder: 'h', logger: pino({ enabled: false }) };
    expect(() => new PgLeadership({ ...base, heartbeatMs: 500, heartbeatTimeoutMs: 500, leaseMs: 1000 })).toThrow(/less than leaseMs/);
    expect(() => new PgLeadership({ ...base, heartbeatMs: 1000, heartbeatTimeoutMs: 2000, leaseMs: 2500 })).toThrow(/less than leaseMs/);
    expect(() => new PgLeadership({ ...base, retryMs: 10000 })).toThrow(/retryMs must be less than leaseMs/);
    expect(() => new PgLeadership({ ...base, lockKey: 2n ** 63n })).toThrow(/bigint/);
    // The defaults hold: 1000 + 2000 < 10000.
    expect(new PgLeadership(base).role()).toBe('follower');
  });
});

describe('SoleLeadership', () => {
  it('is always leader with epoch 0, and never changes or notifies', async () => {
    const sole = new SoleLeadership();
    const calls: string[] = [];
    sole.onChange((role) => calls.push(role));
    sole.onNotify('outbox', () => calls.push('notify'));
    expect([sole.role(), sole.epoch()]).toEqual(['leader', 0]);
    await sole.start();
    expect([sole.role(), sole.epoch()]).toEqual(['leader', 0]);
    await sole.stop();
    expect([sole.role(), sole.epoch()]).toEqual(['leader', 0]);
    expect(calls).toEqual([]);
  });
});
