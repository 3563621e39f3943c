import Database from 'better-sqlite3';
import { ALERTS, BOB, Harness, MANAGER_PASSWORD, OPS, textOf, type Args } from '../e2e/harness';
import { buildForProcessTests } from '../helpers/build';
import { killHard, reapAll, spawnBot, until, waitReady, type BotProcess } from '../helpers/bot-process';
import { basicToken, delivered, expectHealthy, expectNothingLeaked, freePort, isParent, replyIn } from './util';

/**
 * The bot killed with SIGKILL (no shutdown, no drain) in the middle of a backup and of a
 * restore, then started again on the same STATE_DB: nothing is posted twice, no POST is sent
 * again, and what was being followed is followed to its end.
 */

const PG = 'pg-orders';
const parentOf = isParent(OPS.id);
const isCard = (a: Args) => a.channel === OPS.id && a.thread_ts === undefined && /Restore of .* requested/.test(a.text ?? '');
const inThread = (ts: string, pattern: RegExp) => (a: Args) => a.thread_ts === ts && pattern.test(textOf(a));

let mainJs: string;

beforeAll(() => {
  mainJs = buildForProcessTests('faults');
}, 120_000);

describe('fault: the bot is killed with SIGKILL and restarted on the same state', () => {
  let h: Harness;
  let port: number;
  let bot: BotProcess;
  let db: Database.Database | undefined;
  const outputs: string[][] = [];

  async function start(options: { instances?: string[] } = {}): Promise<void> {
    h = await Harness.start({ startBot: false, simulator: { instances: options.instances ?? [] } });
    port = await freePort();
    await launch();
  }

  async function launch(): Promise<void> {
    bot = spawnBot(mainJs, { ...h.env(), LOG_LEVEL: 'info' }, port);
    outputs.push(bot.output);
    h.botUrl = bot.url;
    await waitReady(bot);
  }

  /** The bot's own state file, read from outside (read-only) as an operator would. */
  function state(): Database.Database {
    db ??= new Database(h.env().STATE_DB as string, { readonly: true, fileMustExist: true });
    return db;
  }

  const pendingJobs = () => (state().prepare("SELECT COUNT(*) AS n FROM outbox_jobs WHERE state = 'pending'").get() as { n: number }).n;

  /** Until the bot has written down that every Slack write so far went out (so a kill loses nothing it knew). */
  const outboxEmpty = () => until('the outbox to be empty', () => (pendingJobs() === 0 ? true : undefined));

  afterEach(async () => {
    await reapAll();
    db?.close();
    db = undefined;
    // The password never reaches the bot's own log lines either.
    for (const out of outputs.splice(0)) {
      const text = out.join('');
      expect(text.includes(MANAGER_PASSWORD) || text.includes(basicToken('admin', MANAGER_PASSWORD))).toBe(false);
    }
    await h.close();
  });

  const backupPosts = () => h.managerRequests('POST', '/backup_agent/backup');
  const restorePosts = () => h.managerRequests('POST', '/backup_agent/restores');
  const threadStatuses = (ts: string) =>
    delivered(h, 'chat.postMessage', (a) => a.thread_ts === ts).map((a) => /queued|running|done|FAILED/.exec(a.text ?? '')?.[0]);

  async function backupUnderWay(): Promise<string> {
    const { status } = await h.command('now');
    expect(status).toBe(200);
    const parent = await h.waitFor('chat.postMessage', parentOf);
    const ts = (parent.response as { ts: string }).ts;
    await h.waitFor('chat.postMessage', replyIn(ts, 'queued'));
    await outboxEmpty();
    return ts;
  }

  it('mid-backup, after the parent and the queued reply: the restarted bot posts running and done once, and never POSTs again', async () => {
    await start();
    const ts = await backupUnderWay();
    await killHard(bot);

    await h.sim.step(); // running, while nobody watches
    await launch();
    await h.waitFor('chat.postMessage', replyIn(ts, 'running'));
    await h.sim.step();
    await h.waitFor('chat.postMessage', replyIn(ts, 'done'));
    await h.waitFor('chat.update', (a) => a.ts === ts && /: done/.test(a.text ?? ''));
    await outboxEmpty();

    expect(threadStatuses(ts)).toEqual(['queued', 'running', 'done']);
    expect(delivered(h, 'chat.postMessage', parentOf)).toHaveLength(1);
    expect(backupPosts()).toHaveLength(1);
    const row = state().prepare('SELECT status, active, parent_ts FROM tracked_tasks').all();
    expect(row).toEqual([{ status: 'done', active: 0, parent_ts: ts }]);
    expectNothingLeaked(h);
    await expectHealthy(bot.url);
  });

  it('mid-backup, with a transition stored but its reply not yet delivered: the restart delivers it once and goes on', async () => {
    await start();
    const ts = await backupUnderWay();
    // The running reply fails once; the outbox waits before retrying, and the bot dies then.
    h.slack.failNext('chat.postMessage', { status: 500 });
    await h.sim.step();
    await h.slack.waitForCall((c) => c.method === 'chat.postMessage' && c.status === 500 && replyIn(ts, 'running')(c.args as Args));
    await killHard(bot);
    expect(state().prepare('SELECT status FROM tracked_tasks').get()).toEqual({ status: 'running' });
    expect(pendingJobs()).toBeGreaterThan(0);

    await h.sim.step(); // done, while nobody watches
    await launch();
    await h.waitFor('chat.postMessage', replyIn(ts, 'done'));
    await h.waitFor('chat.update', (a) => a.ts === ts && /: done/.test(a.text ?? ''));
    await outboxEmpty();

    expect(threadStatuses(ts)).toEqual(['queued', 'running', 'done']);
    expect(delivered(h, 'chat.postMessage', parentOf)).toHaveLength(1);
    expect(backupPosts()).toHaveLength(1);
    expectNothingLeaked(h);
    await expectHealthy(bot.url);
  });

  /** `now` whose POST the manager handles (the backup exists) but whose answer it withholds: the bot dies waiting for it. */
  async function killedWhilePosting(): Promise<number> {
    await h.sim.setFault({ kind: 'slow', delayMs: 120_000, method: 'POST', path: '/backup_agent/backup', times: 1 });
    const { status } = await h.command('now');
    expect(status).toBe(200);
    await until('the backup POST to reach the manager', () => (backupPosts().length === 1 ? true : undefined));
    await killHard(bot);
    await h.sim.setFault(null);
    const created = h.sim.view('a9s-pg').backups.at(-1)?.id;
    if (created === undefined) throw new Error('the manager made no backup');
    return created;
  }

  const openIntents = () => (state().prepare('SELECT COUNT(*) AS n FROM backup_intents WHERE closed_at IS NULL').get() as { n: number }).n;

  it('killed while the backup POST is in flight: the restart finds the backup, posts its parent once, follows it, and announces its failure; never POSTs again', async () => {
    await start();
    h.sim.failNextBackup('a9s-pg', 'pg_dump: could not write: No space left on device');
    const backupId = await killedWhilePosting();

    await launch();
    const parent = await h.waitFor('chat.postMessage', parentOf);
    const ts = (parent.response as { ts: string }).ts;
    expect((parent.args as Args).text).toMatch(new RegExp(`task ${backupId}\\)`));
    expect(textOf(parent.args as Args)).toMatch(/U0ALICE/);
    await h.waitFor('chat.postMessage', replyIn(ts, 'queued'));
    await h.sim.step();
    await h.waitFor('chat.postMessage', replyIn(ts, 'running'));
    await h.sim.step();
    await h.waitFor('chat.postMessage', inThread(ts, /FAILED/));
    await h.waitFor('chat.postMessage', (a) => a.channel === ALERTS.id && /FAILED/.test(a.text ?? ''));
    await outboxEmpty();

    expect(threadStatuses(ts)).toEqual(['queued', 'running', 'FAILED']);
    expect(delivered(h, 'chat.postMessage', parentOf)).toHaveLength(1);
    expect(backupPosts()).toHaveLength(1);
    expect(openIntents()).toBe(0);
    expect(state().prepare('SELECT backup_id, requester, channel, status FROM tracked_tasks').all()).toEqual([{ backup_id: backupId, requester: 'U0ALICE', channel: OPS.id, status: 'failed' }]);
    expectNothingLeaked(h);
    await expectHealthy(bot.url);
  });

  it('killed while the backup POST is in flight, and another backup appeared meanwhile: the restart says in the channel that it could not confirm it, tracks nothing and never POSTs again', async () => {
    await start();
    await killedWhilePosting();
    h.sim.scheduleBackup('a9s-pg'); // the manager's own schedule: now nobody can tell which one the POST made

    await launch();
    const notice = await h.waitFor('chat.postMessage', (a) => a.channel === OPS.id && /could not confirm/.test(textOf(a)));
    expect(textOf(notice.args as Args)).toMatch(/a9s-pg/);
    expect(textOf(notice.args as Args)).toMatch(/Nothing was retried/);
    expect(textOf(notice.args as Args)).toMatch(/U0ALICE/);
    await outboxEmpty();

    expect(openIntents()).toBe(0);
    expect(delivered(h, 'chat.postMessage', parentOf)).toHaveLength(0);
    expect(state().prepare('SELECT COUNT(*) AS n FROM tracked_tasks').get()).toEqual({ n: 0 });
    expect(backupPosts()).toHaveLength(1);
    expectNothingLeaked(h);
    await expectHealthy(bot.url);
  });

  async function approvedRestore(instance: string): Promise<{ cardTs: string; backupId: number }> {
    const day = 86_400_000;
    const backupId = h.sim.seedBackup(instance, { status: 'done', size: 44985152, createdAt: new Date(Date.now() - 2 * day) });
    if (instance === 'a9s-pg') h.sim.seedBackup(instance, { status: 'done', createdAt: new Date(Date.now() - day) });
    await h.command(`restore ${backupId} ${instance} bad migration`);
    const card = await h.waitFor('chat.postMessage', isCard);
    const cardTs = (card.response as { ts: string }).ts;
    await outboxEmpty();
    const { status } = await h.click({ ts: cardTs, blocks: (card.args as Args).blocks ?? [] }, 'restore_approve', BOB);
    expect(status).toBe(200);
    await h.waitFor('chat.postMessage', inThread(cardTs, /Backup-agent log/));
    expect(restorePosts()).toHaveLength(1);
    return { cardTs, backupId };
  }

  it('mid-restore of a service instance, after the approval POST and the follow-up: no second POST, the follow-up is not re-posted, the restore is followed to success', async () => {
    await start({ instances: [PG] });
    const { cardTs, backupId } = await approvedRestore(PG);
    await until('the restore to be stored as running', () =>
      (state().prepare('SELECT state, followup_ts FROM restore_requests').get() as { state: string; followup_ts: string | null }).followup_ts ? true : undefined,
    );
    await outboxEmpty();
    await killHard(bot);

    await h.sim.step(); // the restore runs on while the bot is dead
    await launch();
    await h.waitFor('chat.postMessage', inThread(cardTs, /restarted/));
    await h.sim.step();
    await h.waitFor('chat.postMessage', inThread(cardTs, /Restore of `pg-orders` to backup .* succeeded/));
    await h.waitFor('chat.update', (a) => a.ts === cardTs && /Restore finished/.test(textOf(a)));
    await h.waitFor('chat.update', (a) => a.channel === ALERTS.id && /succeeded/.test(a.text ?? ''));
    await outboxEmpty();

    expect(restorePosts()).toHaveLength(1);
    expect(restorePosts()[0]?.body).toEqual({ backup_id: backupId, instance_id: h.sim.view(PG).id });
    expect(delivered(h, 'chat.postMessage', inThread(cardTs, /Backup-agent log/))).toHaveLength(1);
    expect(delivered(h, 'chat.postMessage', inThread(cardTs, /Restore of `pg-orders` to backup .* succeeded/))).toHaveLength(1);
    expect(delivered(h, 'chat.postMessage', inThread(cardTs, /Restore request #1 of pg-orders: succeeded/))).toHaveLength(1);
    expect(delivered(h, 'chat.postMessage', inThread(cardTs, /restarted/))).toHaveLength(1);
    expect(delivered(h, 'chat.postMessage', isCard)).toHaveLength(1);
    expect(state().prepare('SELECT state, outcome IS NOT NULL AS decided FROM restore_requests').all()).toEqual([{ state: 'succeeded', decided: 1 }]);
    const actions = (state().prepare('SELECT action FROM audit_log ORDER BY id').all() as Array<{ action: string }>).map((r) => r.action);
    expect(actions.filter((a) => a === 'restore.running')).toHaveLength(1);
    expect(actions.filter((a) => a === 'restore.succeeded')).toHaveLength(1);
    expectNothingLeaked(h);
    await expectHealthy(bot.url);
  });

  it('mid-restore of a9s-pg, restarted while the manager is still away: no second POST, and the summary is posted once when it answers again', async () => {
    await start();
    const { cardTs } = await approvedRestore('a9s-pg');
    await h.waitFor('chat.postMessage', inThread(cardTs, /unreachable, as expected/));
    await outboxEmpty();
    await killHard(bot);

    await h.sim.step();
    // Restarted while the manager is still away: ready all the same (the outage is expected).
    expect(h.sim.restoring).toBe(true);
    await launch();
    await h.waitFor('chat.postMessage', inThread(cardTs, /restarted/));
    await h.sim.step();
    await h.sim.step(); // the outage is over and the manager answers again
    expect(h.sim.restoring).toBe(false);
    await h.waitFor('chat.postMessage', inThread(cardTs, /Restore of `a9s-pg` to backup .* succeeded/));
    await outboxEmpty();

    expect(restorePosts()).toHaveLength(1);
    expect(delivered(h, 'chat.postMessage', inThread(cardTs, /Backup-agent log/))).toHaveLength(1);
    expect(delivered(h, 'chat.postMessage', inThread(cardTs, /unreachable, as expected/))).toHaveLength(1);
    expect(delivered(h, 'chat.postMessage', inThread(cardTs, /Restore of `a9s-pg` to backup .* succeeded/))).toHaveLength(1);
    expect(h.callsOf('chat.postMessage', (a) => a.channel === ALERTS.id && /unreachable/i.test(a.text ?? ''))).toHaveLength(0);
    expectNothingLeaked(h);
    await expectHealthy(bot.url);
  });
});
