import Database from 'better-sqlite3';
import { ALICE, BOB, Harness, OPS, textOf, type Args } from '../e2e/harness';
import { delivered, expectHealthy, expectNothingLeaked, httpGet, isParent, outboxSettled, replyIn } from './util';
import { rawSqlite } from '../../src/ports/store';

/**
 * The state file locked by someone else (an operator's sqlite3 shell, a backup tool) for
 * longer than the bot's busy timeout. chmod 444 does not stop root, who runs CI, so the lock is
 * the portable way to make every write fail with SQLITE_BUSY. The bot must not crash, must
 * answer the person waiting, must not start what it can not record, and must catch up after.
 */

const BUSY_MS = 100;
const PG = 'pg-orders';
const parentOf = isParent(OPS.id);
const isCard = (a: Args) => a.channel === OPS.id && a.thread_ts === undefined && /Restore of .* requested/.test(a.text ?? '');

describe('fault: the state store is locked', () => {
  let h: Harness;
  let locker: Database.Database | undefined;

  async function start(env: Record<string, string> = {}): Promise<void> {
    h = await Harness.start({ env, bot: { storeBusyTimeoutMs: BUSY_MS }, simulator: { instances: [PG] } });
  }

  afterEach(async () => {
    release();
    await h.close();
  });

  /** Holds the write lock of the bot's SQLite file from a second connection, as another process would. */
  function lock(): void {
    locker = new Database(h.config.stateDb, { fileMustExist: true });
    locker.pragma('busy_timeout = 0');
    locker.exec('BEGIN EXCLUSIVE');
  }

  function release(): void {
    if (!locker) return;
    if (locker.inTransaction) locker.exec('ROLLBACK');
    locker.close();
    locker = undefined;
  }

  const backupPosts = () => h.managerRequests('POST', '/backup_agent/backup');

  async function trackedBackup(): Promise<{ ts: string; backupId: number }> {
    await h.command('now');
    const parent = await h.waitFor('chat.postMessage', parentOf);
    const ts = (parent.response as { ts: string }).ts;
    await h.waitFor('chat.postMessage', replyIn(ts, 'queued'));
    await outboxSettled(h);
    return { ts, backupId: h.sim.view('a9s-pg').backups[0]?.id ?? -1 };
  }

  it('while locked: tracking stalls without a crash, /healthz answers, list works, now is refused clearly without a POST; after release everything catches up', async () => {
    // Expiry of restore requests runs every 250 ms: a timer that writes while the file is locked.
    await start({ APPROVAL_TTL_MS: '1000' });
    const { ts, backupId } = await trackedBackup();
    lock();

    await h.sim.step(); // running: the poller can not store it yet
    await h.waitForLog(/poll failed/);
    await expectHealthy(h.bot.url);

    const { status, ack } = await h.command('now', ALICE);
    expect(status).toBe(200);
    expect(ack.response_type).toBe('ephemeral');
    const said = await h.waitForEphemeral(ALICE.id, /state/i);
    expect(said).toMatch(/locked|busy|read-only/i);
    expect(said).toMatch(/nothing was started|not started|try again/i);
    expect(backupPosts()).toHaveLength(1);

    await h.command('list', BOB);
    await h.waitForEphemeral(BOB.id, /Latest backups/);
    await h.waitForLog(/could not expire restore requests/);
    await expectHealthy(h.bot.url);
    // Nothing reached the thread while the state could not be written.
    expect(h.callsOf('chat.postMessage', replyIn(ts, 'running'))).toHaveLength(0);

    release();
    await h.waitFor('chat.postMessage', replyIn(ts, 'running'));
    await h.sim.step();
    await h.waitFor('chat.postMessage', replyIn(ts, 'done'));
    await outboxSettled(h);
    const replies = delivered(h, 'chat.postMessage', (a) => a.thread_ts === ts).map((a) => /queued|running|done/.exec(a.text ?? '')?.[0]);
    expect(replies).toEqual(['queued', 'running', 'done']);
    expect(h.bot.deps.store.tasks.find('a9s-pg', backupId)).toMatchObject({ status: 'done', active: false, parentTs: ts });

    // And a command after the release works as usual.
    await h.command('now', ALICE);
    await h.slack.waitForCall((c) => c.method === 'chat.postMessage' && parentOf(c.args as Args) && c.args.text !== undefined && !String(c.args.text).includes(`task ${backupId})`));
    expect(backupPosts()).toHaveLength(2);
    expectNothingLeaked(h);
    await expectHealthy(h.bot.url);
  });

  it('a restore request and an approval while locked get a clear answer and leave nothing half-made; after release both work, with one POST', async () => {
    await start();
    const backupId = h.sim.seedBackup(PG, { status: 'done', createdAt: new Date(Date.now() - 3_600_000) });
    lock();
    await h.command(`restore ${backupId} ${PG} bad migration`);
    const said = await h.waitForEphemeral(ALICE.id, /state/i);
    expect(said).toMatch(/locked|busy|read-only/i);
    expect(h.callsOf('chat.postMessage', isCard)).toHaveLength(0);
    await expectHealthy(h.bot.url);
    release();
    expect(h.bot.deps.store.restores.inState('pending')).toHaveLength(0);

    await h.command(`restore ${backupId} ${PG} bad migration`);
    const card = await h.waitFor('chat.postMessage', isCard);
    await outboxSettled(h);
    expect(h.bot.deps.store.restores.inState('pending')).toHaveLength(1);

    // An approval while locked: a clear answer, nothing recorded, nothing started.
    const message = { ts: (card.response as { ts: string }).ts, blocks: (card.args as Args).blocks ?? [] };
    lock();
    await h.click(message, 'restore_approve', BOB);
    const refused = await h.waitForEphemeral(BOB.id, /Could not record your approve/);
    expect(refused).toMatch(/state store is locked or read-only \(SQLITE_BUSY\)/);
    expect(h.managerRequests('POST', '/backup_agent/restores')).toHaveLength(0);
    await expectHealthy(h.bot.url);
    release();
    expect(h.bot.deps.store.restores.inState('pending')[0]?.approvals).toHaveLength(0);

    await h.click(message, 'restore_approve', BOB);
    await h.waitFor('chat.update', (a) => a.ts === message.ts && /Restore running/.test(textOf(a)));
    expect(h.managerRequests('POST', '/backup_agent/restores')).toHaveLength(1);
    expectNothingLeaked(h);
  });

  it('a Slack write that falls due while locked is not lost: it goes out once after the release', async () => {
    await start();
    const { ts } = await trackedBackup();
    // The running reply fails once; its retry comes while the file is locked.
    h.slack.failNext('chat.postMessage', { status: 500 });
    await h.sim.step();
    await h.slack.waitForCall((c) => c.method === 'chat.postMessage' && c.status === 500 && replyIn(ts, 'running')(c.args as Args));
    lock();
    await h.waitForLog(/outbox job crashed; retrying later/);
    await h.waitForLog(/SQLITE_BUSY|database is locked/);
    await expectHealthy(h.bot.url);
    release();

    await h.slack.waitForCall((c) => c.method === 'chat.postMessage' && c.response.ok === true && replyIn(ts, 'running')(c.args as Args));
    await h.sim.step();
    await h.waitFor('chat.postMessage', replyIn(ts, 'done'));
    await outboxSettled(h);
    const replies = delivered(h, 'chat.postMessage', (a) => a.thread_ts === ts).map((a) => /queued|running|done/.exec(a.text ?? '')?.[0]);
    expect(replies).toEqual(['queued', 'running', 'done']);
    expect(textOf(h.callsOf('chat.update', (a) => a.ts === ts).at(-1)?.args as Args)).toMatch(/: done/);
    expectNothingLeaked(h);
    await expectHealthy(h.bot.url);
  });
});

/**
 * The state file's filesystem is full. `PRAGMA max_page_count` on the bot's own connection
 * makes that deterministic: the file may not grow, and the pages it has are filled up, so every
 * write that needs room fails with SQLITE_FULL as on a full disk.
 */
describe('fault: the state store is full', () => {
  let h: Harness;

  afterEach(async () => {
    await h.close();
  });

  /** Caps the file at its current size and fills what room is left. */
  function fillUp(): void {
    const db = rawSqlite(h.bot.deps.store.db);
    db.exec('CREATE TABLE IF NOT EXISTS test_filler (pad BLOB NOT NULL)');
    db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true }) as number}`);
    const insert = db.prepare('INSERT INTO test_filler (pad) VALUES (zeroblob(?))');
    // Large rows first, then ever smaller ones, until not even a few bytes fit.
    for (const size of [4096, 512, 64, 8, 1]) {
      for (let i = 0; i < 10_000; i++) {
        try {
          insert.run(size);
        } catch (err) {
          expect((err as { code?: string }).code).toBe('SQLITE_FULL');
          break;
        }
      }
    }
  }

  function makeRoom(): void {
    const db = rawSqlite(h.bot.deps.store.db);
    db.pragma('max_page_count = 1073741823');
    db.exec('DROP TABLE test_filler');
  }

  async function readyz(): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await httpGet(`${h.bot.url}/readyz`);
    return { status: res.status, body: JSON.parse(res.text) as Record<string, unknown> };
  }

  it('/readyz says the store is down; `now` is refused with a clear answer and no POST; with room again both recover', async () => {
    h = await Harness.start();
    expect(await readyz()).toMatchObject({ status: 200, body: { ready: true, store: 'ok' } });
    fillUp();

    expect(await readyz()).toMatchObject({ status: 503, body: { ready: false, store: 'down', backupManager: 'ok', slack: 'ok' } });
    const { status, ack } = await h.command('now', ALICE);
    expect(status).toBe(200);
    expect(ack.response_type).toBe('ephemeral');
    const said = await h.waitForEphemeral(ALICE.id, /state store/i);
    expect(said).toMatch(/Nothing was started/);
    expect(said).toMatch(/full/);
    expect(h.managerRequests('POST', '/backup_agent/backup')).toHaveLength(0);
    expect(h.callsOf('chat.postMessage', parentOf)).toHaveLength(0);
    expectNothingLeaked(h);

    makeRoom();
    expect(await readyz()).toMatchObject({ status: 200, body: { ready: true, store: 'ok' } });
    await h.command('now', ALICE);
    await h.waitFor('chat.postMessage', parentOf);
    expect(h.managerRequests('POST', '/backup_agent/backup')).toHaveLength(1);
  });
});
