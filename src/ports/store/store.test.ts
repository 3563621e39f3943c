import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { openStore, InstanceLockedError, type Store, type NewRestoreRequest } from './index';
import { openSqlite, schemaVersion, migrate } from './sqlite-schema';
import { MIGRATIONS_PG, pgSchemaVersion } from './pg-schema';
import { freshDatabase } from '../../../test/pg/postgres';
import { InstanceViewSchema, instanceViewToWire } from '../backup-manager/schemas';

const request = (over: Partial<NewRestoreRequest> = {}): NewRestoreRequest => ({
  instance: 'a9s-pg',
  instanceNumericId: 38,
  backupId: 148,
  backupName: 'a9s-pg-1542859215559',
  backupSize: 44985152,
  backupCreatedAt: '2018-11-22T04:00:15.718Z',
  newerBackups: [{ id: 149, backupName: 'a9s-pg-1542859300000', createdAt: '2018-11-23T04:00:00.000Z' }],
  requester: 'U0ALICE',
  reason: 'bad migration',
  channel: 'C0OPS',
  approvalsNeeded: 1,
  createdAt: 1000,
  expiresAt: 5000,
  ...over,
});

/**
 * A view as the manager may send it: statuses the bot does not know (also not as a string), a
 * message that is JSON, a restore with its task in the singular form, a backup without a task.
 */
const MANAGER_VIEW = InstanceViewSchema.parse({
  id: 38,
  instance_id: 'a9s-pg',
  guid: 'd1b2c3',
  backups: [
    { id: 148, backup_id: 'a9s-pg-1542859215559', instance_id: 38, size: 44985152, is_downloadable: true, backup_agent_task: { id: 1, task_id: 9, status: ' Done ', msg: null, created_at: '2018-11-22T04:00:15.718Z', updated_at: '2018-11-22T04:01:00.000Z' } },
    { id: 151, backup_id: 'a9s-pg-1542999999999', size: null, backup_agent_task: { id: 2, status: 'failed', msg: { error: 'pg_dump: disk full' }, created_at: '2018-11-24T23:33:20.000Z' } },
    { id: 152, backup_agent_task: { status: 5 } },
    { id: 153, backup_agent_task: { status: 'paused-ish' } },
    { id: 154 },
  ],
  restores: [
    { id: 3, instance_id: 38, backup_id: 148, backup_agent_tasks: [{ id: 4, status: 'done', created_at: '2018-11-25T00:00:00.000Z' }], backup_agent_task: { id: 5, status: 'running', created_at: '2018-11-26T00:00:00.000Z' } },
    { id: 4, backup_id: 'a9s-pg-1542859215559' },
  ],
});

/** The one store suite, run on both backends: the repositories are the same code on each. */
const BACKENDS: Array<[string, () => Promise<Store>]> = [
  ['SQLite', () => Promise.resolve(openStore(':memory:'))],
  ['PostgreSQL', async () => openStore(await freshDatabase('store'))],
];

describe.each(BACKENDS)('store on %s', (_backend, open) => {
  let store: Store;
  beforeEach(async () => {
    store = await open();
  });
  afterEach(() => store.close());

  describe('tracked tasks', () => {
    it('tracks a backup once, however often it is added', () => {
      const a = store.tasks.track({ instance: 'a9s-pg', backupId: 148, channel: 'C0OPS', requester: 'U0ALICE', status: 'queued', at: 1 });
      const b = store.tasks.track({ instance: 'a9s-pg', backupId: 148, channel: 'C0OTHER', requester: 'U0BOB', status: 'queued', at: 2 });
      expect(b.id).toBe(a.id);
      expect(b.channel).toBe('C0OPS');
      expect(store.tasks.listActive()).toHaveLength(1);
    });

    it('lets exactly one observer claim a transition and drops final tasks from the poll set', () => {
      const t = store.tasks.track({ instance: 'pg1', backupId: 1, channel: 'C', requester: 'U', status: 'queued', at: 1 });
      const observed = { status: 'done' as const, backupName: 'pg1-1', size: 10, msg: null, at: 5, active: false };
      expect(store.tasks.transition(t.id, 'queued', observed)).toBe(true);
      expect(store.tasks.transition(t.id, 'queued', observed)).toBe(false);
      const after = store.tasks.get(t.id);
      expect(after).toMatchObject({ status: 'done', backupName: 'pg1-1', size: 10, finishedAt: 5, active: false });
      expect(store.tasks.activeInstances()).toEqual([]);
    });

    it('sets the parent ts only once', () => {
      const t = store.tasks.track({ instance: 'pg1', backupId: 1, channel: 'C', requester: 'U', status: 'queued', at: 1 });
      store.tasks.setParentTs(t.id, '1.1');
      store.tasks.setParentTs(t.id, '2.2');
      expect(store.tasks.get(t.id)?.parentTs).toBe('1.1');
    });
  });

  describe('restore requests', () => {
    it('approves exactly once when the quorum is reached, ignoring repeated approvals by one user', () => {
      const r = store.restores.create(request({ approvalsNeeded: 2 }));
      expect(store.restores.approve(r.id, 'U0BOB', 10)).toEqual({ added: true, approved: false });
      expect(store.restores.approve(r.id, 'U0BOB', 11)).toEqual({ added: false, approved: false });
      expect(store.restores.approve(r.id, 'U0CAROL', 12)).toEqual({ added: true, approved: true });
      expect(store.restores.approve(r.id, 'U0DAVE', 13)).toEqual({ added: false, approved: false });
      const after = store.restores.get(r.id);
      expect(after?.state).toBe('approved');
      expect(after?.approvals.map((a) => a.userId)).toEqual(['U0BOB', 'U0CAROL']);
      expect(after?.newerBackups[0]?.id).toBe(149);
    });

    it('keeps the per-instance later backups, reads older rows as their own instance only, and an unreadable list as unknown', () => {
      const laterBackups = [
        { instance: 'a9s-pg', known: true as const, later: [{ id: 149, backupName: null, createdAt: null, status: 'failed' }] },
        { instance: 'pg-orders', known: false as const, error: 'answered 503' },
      ];
      const r = store.restores.create(request({ laterBackups, newerBackups: [] }));
      expect(store.restores.get(r.id)).toMatchObject({ laterBackups, newerBackups: laterBackups[0]?.later });
      const legacy = store.restores.create(request());
      expect(store.restores.get(legacy.id)?.laterBackups).toEqual([{ instance: 'a9s-pg', known: true, later: request().newerBackups }]);
      store.db.prepare('UPDATE restore_requests SET newer_backups = ? WHERE id = ?').run('{"instances": 3}', legacy.id);
      expect(store.restores.get(legacy.id)).toMatchObject({ newerBackups: [], laterBackups: [{ instance: 'a9s-pg', known: false }] });
    });

    it('holds one lock per instance: a second approved restore is refused', () => {
      const a = store.restores.create(request());
      const b = store.restores.create(request({ backupId: 149 }));
      expect(store.restores.approve(a.id, 'U0BOB', 10).approved).toBe(true);
      expect(() => store.restores.approve(b.id, 'U0BOB', 11)).toThrow(InstanceLockedError);
      expect(store.restores.get(b.id)?.state).toBe('pending');
      expect(store.restores.lockHolder('a9s-pg')?.id).toBe(a.id);
      store.restores.markStarted(a.id, 12, 20);
      store.restores.finish(a.id, 'succeeded', 'ok', 30);
      expect(store.restores.lockHolder('a9s-pg')).toBeUndefined();
      expect(store.restores.approve(b.id, 'U0BOB', 40).approved).toBe(true);
    });

    it('decides a pending request once and expires only pending ones past their deadline', () => {
      const a = store.restores.create(request());
      const b = store.restores.create(request({ backupId: 150, expiresAt: 2000 }));
      expect(store.restores.decide(a.id, 'rejected', 'U0BOB', 10)).toBe(true);
      expect(store.restores.decide(a.id, 'withdrawn', 'U0ALICE', 11)).toBe(false);
      expect(store.restores.expireDue(1999)).toEqual([]);
      expect(store.restores.expireDue(2000)).toEqual([b.id]);
      expect(store.restores.get(b.id)?.state).toBe('expired');
      expect(store.restores.approve(b.id, 'U0BOB', 2001).approved).toBe(false);
      expect(store.restores.pendingCount()).toBe(0);
    });
  });

  describe('outbox jobs', () => {
    it('never creates a second job with the same idempotency key', () => {
      const job = { key: 'task:1:running', channel: 'C', method: 'chat.postMessage' as const, payload: { text: 'x' } };
      expect(store.outbox.add(job, 1)).toBeDefined();
      expect(store.outbox.add(job, 2)).toBeUndefined();
      const [pending] = store.outbox.pending();
      expect(pending?.payload).toEqual({ text: 'x' });
      store.outbox.markSent(pending!.id, '1.2', 3);
      expect(store.outbox.pending()).toEqual([]);
      expect(store.outbox.byKey('task:1:running')?.resultTs).toBe('1.2');
    });
  });

  describe('fencing by the leadership epoch', () => {
    const lead = (epoch: number) =>
      store.db.prepare("INSERT INTO leadership (id, epoch, holder, since) VALUES (1, ?, 'h', 0) ON CONFLICT (id) DO UPDATE SET epoch = excluded.epoch").run(epoch);

    it('claims a restore POST once, and only under the newest epoch', () => {
      const r = store.restores.create(request());
      store.restores.approve(r.id, 'U0BOB', 10);
      lead(3);
      expect(store.restores.claimPost(r.id, 11, 2)).toBe(false);
      expect(store.restores.get(r.id)?.postClaimedAt).toBeNull();
      expect(store.restores.claimPost(r.id, 12, 3)).toBe(true);
      expect(store.restores.claimPost(r.id, 13, 3)).toBe(false);
      expect(store.restores.get(r.id)?.postClaimedAt).toBe(12);
    });

    it('starts a Slack write only under the newest epoch; with no leadership row (one bot) the epoch is 0', () => {
      const job = store.outbox.add({ key: 'k', channel: 'C', method: 'chat.postMessage', payload: {} }, 1)!;
      expect(store.outbox.startAttempt(job.id, 0)).toBe(true);
      lead(5);
      expect(store.outbox.startAttempt(job.id, 4)).toBe(false);
      expect(store.outbox.startAttempt(job.id, 5)).toBe(true);
      expect(store.outbox.get(job.id)).toMatchObject({ attempts: 2, attemptEpoch: 5, inFlight: true });
    });
  });

  describe('failure watch', () => {
    it('treats failures present at first sight as history and announces a new one once', () => {
      expect(store.watch.firstSight('a9s-pg', [1, 2], 1)).toBe(true);
      expect(store.watch.firstSight('a9s-pg', [3], 2)).toBe(false);
      expect(store.watch.claimFailure('a9s-pg', 1, 3)).toBe(false);
      expect(store.watch.claimFailure('a9s-pg', 3, 3)).toBe(true);
      expect(store.watch.claimFailure('a9s-pg', 3, 4)).toBe(false);
    });

    it('announces an outage once and its recovery only if the outage was announced', () => {
      store.watch.firstSight('pg', [], 1);
      store.watch.markUnreachable('pg', 10);
      store.watch.markUnreachable('pg', 20);
      expect(store.watch.get('pg')?.unreachableSince).toBe(10);
      expect(store.watch.claimOutageAnnouncement('pg')).toBe(true);
      expect(store.watch.claimOutageAnnouncement('pg')).toBe(false);
      expect(store.watch.markReachable('pg')).toBe(true);
      expect(store.watch.markReachable('pg')).toBe(false);
    });
  });

  describe('seen Slack requests (replays)', () => {
    it('a key is first once within the keep window, and first again after it', () => {
      const t0 = 1_700_000_000_000;
      expect(store.seen.firstSighting('k', t0, 1000)).toBe(true);
      expect(store.seen.firstSighting('k', t0 + 999, 1000)).toBe(false);
      expect(store.seen.firstSighting('k', t0 + 1001, 1000)).toBe(true);
      expect(store.seen.firstSighting('k', t0 + 1002, 1000)).toBe(false);
    });
  });

  describe('App Home openers', () => {
    it('records each opening, counts them, and keeps the channel known when a later one brings none', () => {
      expect(store.homeOpeners.open('U0ALICE', 'D0ALICE', 10)).toEqual({ user: 'U0ALICE', channel: 'D0ALICE', openedAt: 10, opens: 1, publishedAt: null });
      store.homeOpeners.published('U0ALICE', 11);
      expect(store.homeOpeners.open('U0ALICE', undefined, 20)).toEqual({ user: 'U0ALICE', channel: 'D0ALICE', openedAt: 20, opens: 2, publishedAt: 11 });
      expect(store.homeOpeners.open('U0ALICE', 'C0ALERTS', 30)).toMatchObject({ channel: 'C0ALERTS', opens: 3 });
      expect(store.homeOpeners.open('U0BOB', undefined, 15)).toMatchObject({ user: 'U0BOB', channel: null, opens: 1 });
    });

    it('lists who opened since a time, and prunes the older ones only', () => {
      store.homeOpeners.open('U0ALICE', 'D1', 100);
      store.homeOpeners.open('U0BOB', 'D2', 200);
      store.homeOpeners.open('U0CAROL', 'D3', 300);
      expect(store.homeOpeners.since(200).map((o) => o.user)).toEqual(['U0BOB', 'U0CAROL']);
      expect(store.homeOpeners.prune(200)).toBe(1);
      expect(store.homeOpeners.prune(200)).toBe(0);
      expect(store.homeOpeners.since(0).map((o) => o.user)).toEqual(['U0BOB', 'U0CAROL']);
    });
  });

  describe("what the leader read (the overview's source on every replica)", () => {
    it('keeps the latest view of each instance and its read time, the same view when read back', () => {
      expect(store.reads.all()).toEqual([]);
      store.reads.put('a9s-pg', MANAGER_VIEW, 100);
      store.reads.put('pg-orders', InstanceViewSchema.parse({ id: 7, instance_id: 'pg-orders' }), 150);
      const later = InstanceViewSchema.parse({ id: 38, instance_id: 'a9s-pg', backups: [{ id: 152, backup_agent_task: { status: 'running' } }] });
      store.reads.put('a9s-pg', later, 200);
      expect(store.reads.all()).toEqual([
        { instance: 'a9s-pg', view: later, at: 200 },
        { instance: 'pg-orders', view: { id: 7, instanceGuid: 'pg-orders', guid: null, backups: [], restores: [] }, at: 150 },
      ]);
      store.reads.put('a9s-pg', MANAGER_VIEW, 300);
      expect(store.reads.all()[0]).toEqual({ instance: 'a9s-pg', view: MANAGER_VIEW, at: 300 });
    });

    it('reads a row the schema refuses, or that is no JSON, as no view (its read time kept)', () => {
      const put = store.db.prepare('INSERT INTO instance_reads (instance, view, read_at) VALUES (?, ?, ?)');
      put.run('a9s-pg', JSON.stringify({ id: 'thirty-eight', instance_id: 'a9s-pg' }), 10);
      put.run('pg-orders', '{"id": 7, "instance_id": "pg-or', 20);
      store.reads.put('pg-good', MANAGER_VIEW, 30);
      expect(store.reads.all()).toEqual([
        { instance: 'a9s-pg', view: undefined, at: 10 },
        { instance: 'pg-good', view: MANAGER_VIEW, at: 30 },
        { instance: 'pg-orders', view: undefined, at: 20 },
      ]);
    });

    it('forgets the reads of instances no longer watched', () => {
      store.reads.put('a9s-pg', MANAGER_VIEW, 10);
      store.reads.put('pg-gone', MANAGER_VIEW, 20);
      store.reads.put('pg-orders', MANAGER_VIEW, 30);
      expect(store.reads.keepOnly(['a9s-pg', 'pg-orders', 'pg-new'])).toBe(1);
      expect(store.reads.all().map((r) => r.instance)).toEqual(['a9s-pg', 'pg-orders']);
      expect(store.reads.keepOnly(['a9s-pg', 'pg-orders'])).toBe(0);
    });

    it('keeps the manager health as last written', () => {
      expect(store.reads.health()).toBeUndefined();
      store.reads.putHealth({ up: true, since: 5 });
      expect(store.reads.health()).toEqual({ up: true, since: 5 });
      store.reads.putHealth({ up: false, since: 1_700_000_000_000 });
      expect(store.reads.health()).toEqual({ up: false, since: 1_700_000_000_000 });
    });
  });
});

describe('an instance view in the manager\'s words again', () => {
  it('is read by InstanceViewSchema as the very view it was made of', () => {
    expect(InstanceViewSchema.parse(JSON.parse(JSON.stringify(instanceViewToWire(MANAGER_VIEW))))).toEqual(MANAGER_VIEW);
  });
});

describe('SQLite store', () => {
  it('applies migrations once and records the schema version', () => {
    const db = openSqlite(':memory:');
    const v = schemaVersion(db.raw);
    expect(v).toBeGreaterThan(0);
    migrate(db.raw);
    expect(schemaVersion(db.raw)).toBe(v);
    db.close();
  });

  it('keeps its state in a file across a reopen (WAL)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pgbackup-store-'));
    try {
      const path = join(dir, 'nested', 'state.sqlite');
      const first = openStore(path);
      const check = openSqlite(path);
      expect(check.raw.pragma('journal_mode', { simple: true })).toBe('wal');
      check.close();
      first.tasks.track({ instance: 'pg', backupId: 7, channel: 'C', requester: 'U', status: 'running', at: 1 });
      first.audit.record({ at: 2, actor: 'U', action: 'backup.trigger', instance: 'pg', requestId: null, details: { id: 7 } });
      first.close();
      const second = openStore(path);
      expect(second.tasks.find('pg', 7)?.status).toBe('running');
      expect(second.audit.latest(1)[0]).toMatchObject({ action: 'backup.trigger', details: { id: 7 } });
      second.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('PostgreSQL store', () => {
  const MIGRATION_LOCK = 0x70676264;

  it('migrates under a lock: a replica starting while another migrates waits for it, then finds the schema current', async () => {
    const url = await freshDatabase('migrate');
    const other = new Client({ connectionString: url });
    await other.connect();
    try {
      await other.query('BEGIN');
      await other.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      expect(() => openStore(url, { callTimeoutMs: 500 })).toThrow(/statement timeout|did not answer within 500 ms/);
      await other.query('COMMIT');
      const first = openStore(url);
      expect(pgSchemaVersion(first.db)).toBe(MIGRATIONS_PG.length);
      const second = openStore(url);
      expect(pgSchemaVersion(second.db)).toBe(MIGRATIONS_PG.length);
      second.close();
      first.close();
    } finally {
      await other.end();
    }
  });

  it('commits nothing of a transaction whose connection is lost midway, and the next call works on a new one', async () => {
    const url = await freshDatabase('lost');
    const store = openStore(url);
    const killer = openStore(url);
    try {
      const pid = (store.db.prepare('SELECT pg_backend_pid() AS pid').get() as { pid: number }).pid;
      expect(() =>
        store.transaction(() => {
          store.tasks.track({ instance: 'pg', backupId: 1, channel: 'C', requester: 'U', status: 'queued', at: 1 });
          killer.db.prepare('SELECT pg_terminate_backend(?)').get(pid);
          store.tasks.track({ instance: 'pg', backupId: 2, channel: 'C', requester: 'U', status: 'queued', at: 1 });
        }),
      ).toThrow();
      expect(store.tasks.listActive()).toEqual([]);
      expect(killer.tasks.listActive()).toEqual([]);
    } finally {
      killer.close();
      store.close();
    }
  });

  it('logs in with a password given apart from a URL that has none (STATE_DB_PASSWORD_FILE)', async () => {
    const url = new URL(await freshDatabase('password'));
    const password = decodeURIComponent(url.password);
    url.password = '';
    const store = openStore(url.toString(), { password });
    try {
      expect(store.tasks.listActive()).toEqual([]);
    } finally {
      store.close();
    }
  });

  it('says what is wrong with a database it can not use, without the password', async () => {
    const url = (await freshDatabase('bad')).replace(/\/[^/]+$/, '/no_such_db');
    expect(() => openStore(url, { callTimeoutMs: 3000 })).toThrow(/no such database \(3D000\)/);
    expect(() => openStore(url, { callTimeoutMs: 3000 })).not.toThrow(new RegExp(new URL(url).password));
  });
});
