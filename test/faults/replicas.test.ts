import { Client } from 'pg';
import { ALICE, BOB, CAROL, type Harness, textOf } from '../e2e/harness';
import { buildForProcessTests } from '../helpers/build';
import { killHard, reapAll, type BotProcess } from '../helpers/bot-process';
import { followToDone, inThread, INSTANCES, parentTs, PG, POLL_MS, recordedCard, Replicas, statusesIn } from '../helpers/replicas';
import { delivered } from './util';

/**
 * Three replicas of the bot, as real processes, on one PostgreSQL: every replica answers Slack,
 * one leader tracks, restores and posts. Killed with SIGKILL, the leader is replaced and
 * nothing is posted or sent twice.
 */

const RESTORE_POST = '/backup_agent/restores';

let mainJs: string;

beforeAll(() => {
  mainJs = buildForProcessTests('replicas');
}, 120_000);

describe('several replicas on one PostgreSQL', () => {
  let r: Replicas | undefined;
  let h: Harness;
  let bots: BotProcess[] = [];

  async function start(): Promise<void> {
    r = await Replicas.start({ mainJs, pollMs: POLL_MS, simulator: { instances: INSTANCES } });
    h = r.h;
    bots = r.bots;
  }

  const leader = (among?: BotProcess[]): Promise<BotProcess> => (r as Replicas).leader(among);
  const followers = (): Promise<BotProcess[]> => (r as Replicas).followers();

  /** Three replicas; a backup of `instance` asked through a follower and queued in its thread. */
  async function queuedThroughFollower(instance: string): Promise<{ first: BotProcess; ts: string }> {
    await start();
    const first = await leader();
    h.botUrl = (await followers())[0]?.url;
    await h.command(`now ${instance}`);
    const ts = await parentTs(h, instance);
    await h.waitFor('chat.postMessage', inThread(ts, /queued/));
    return { first, ts };
  }

  afterEach(async () => {
    await (r ? r.close() : reapAll());
    r = undefined;
  });

  it('commands spread over all three: each backup is tracked once, each transition posted once, one backup POST each', async () => {
    await start();
    const threads: string[] = [];
    for (const [i, instance] of ['pg-a', 'pg-b', 'pg-c'].entries()) {
      h.botUrl = (bots[i] as BotProcess).url;
      expect((await h.command(`now ${instance}`)).status).toBe(200);
      const ts = await parentTs(h, instance);
      await h.waitFor('chat.postMessage', inThread(ts, /queued/));
      threads.push(ts);
    }
    await h.sim.step();
    for (const ts of threads) await h.waitFor('chat.postMessage', inThread(ts, /running/));
    await h.sim.step();
    for (const ts of threads) await h.waitFor('chat.postMessage', inThread(ts, /done/));
    // A later event on the same threads: the edits that follow the last reply have gone out too.
    for (const ts of threads) await h.waitFor('chat.update', (a) => a.ts === ts && /done/.test(textOf(a)));
    for (const ts of threads) expect(statusesIn(h, ts)).toEqual(['queued', 'running', 'done']);
    expect(h.managerRequests('POST', '/backup_agent/backup')).toHaveLength(3);
  });

  it('the leader killed mid-backup: another takes over within two poll intervals and posts each remaining transition once', async () => {
    const { first, ts } = await queuedThroughFollower('pg-a');
    const killedAt = Date.now();
    await killHard(first);
    const next = await leader(bots.filter((b) => b !== first));
    expect(Date.now() - killedAt).toBeLessThan(2 * POLL_MS + 1500); // + the readiness polling's own pace
    expect(next).not.toBe(first);
    await followToDone(h, ts);
    expect(h.managerRequests('POST', '/backup_agent/backup')).toHaveLength(1);
  });

  it('every database session dropped at once (the state database restarted or failed over): the replicas reconnect, one leads, nothing is posted twice', async () => {
    const { first, ts } = await queuedThroughFollower('pg-a');
    const admin = new Client({ connectionString: (r as Replicas).url });
    await admin.connect();
    try {
      const { rowCount } = await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()');
      expect(rowCount).toBeGreaterThanOrEqual(6); // a store and a lock session per replica
    } finally {
      await admin.end();
    }
    // The leader lost its lock with its session: it stops, status 1, for its supervisor to restart.
    expect(await first.exited).toEqual({ code: 1, signal: null });
    const survivors = bots.filter((b) => b !== first);
    await leader(survivors);
    await followToDone(h, ts);
    // A follower's store session is back too: a command it takes is tracked.
    h.botUrl = (await followers())[0]?.url;
    expect((await h.command(`now pg-b`)).status).toBe(200);
    const next = await parentTs(h, 'pg-b');
    await h.waitFor('chat.postMessage', inThread(next, /queued/));
    expect(h.managerRequests('POST', '/backup_agent/backup')).toHaveLength(2);
  });

  it('ten approvals at once, spread over the replicas: exactly one restore POST', async () => {
    await start();
    const backupId = h.sim.seedBackup(PG, { status: 'done', createdAt: new Date(Date.now() - 86_400_000) });
    h.botUrl = (bots[0] as BotProcess).url;
    await h.command(`restore ${backupId} ${PG} bad migration`, ALICE);
    const card = await recordedCard(h, backupId);
    const approvers = [BOB, CAROL];
    const clicks = Array.from({ length: 10 }, (_, i) => {
      h.botUrl = (bots[i % 3] as BotProcess).url;
      return h.click(card, 'restore_approve', approvers[i % 2]);
    });
    expect((await Promise.all(clicks)).map((r) => r.status)).toEqual(Array(10).fill(200));
    await h.waitFor('chat.update', (a) => a.ts === card.ts && /Restore running/.test(textOf(a)));
    await h.sim.step();
    await h.sim.step();
    await h.waitFor('chat.postMessage', inThread(card.ts, /succeeded/));
    expect(h.managerRequests('POST', RESTORE_POST)).toHaveLength(1);
  });

  it('the leader killed mid-restore: another takes over within two poll intervals and follows it to its end, with no second restore POST', async () => {
    await start();
    const first = await leader();
    const backupId = h.sim.seedBackup(PG, { status: 'done', createdAt: new Date(Date.now() - 86_400_000) });
    h.botUrl = (await followers())[0]?.url;
    await h.command(`restore ${backupId} ${PG} bad migration`, ALICE);
    const card = await recordedCard(h, backupId);
    await h.click(card, 'restore_approve', BOB);
    await h.waitFor('chat.update', (a) => a.ts === card.ts && /Restore running/.test(textOf(a)));
    expect(h.managerRequests('POST', RESTORE_POST)).toHaveLength(1);
    const killedAt = Date.now();
    await killHard(first);
    const next = await leader(bots.filter((b) => b !== first));
    expect(Date.now() - killedAt).toBeLessThan(2 * POLL_MS + 1500); // + the readiness polling's own pace
    expect(next).not.toBe(first);
    await h.sim.step();
    await h.sim.step();
    // The new leader may first wait out the dead one's in-flight post (SLACK_TIMEOUT_MS, 2 s).
    await h.waitFor('chat.postMessage', inThread(card.ts, /succeeded/));
    expect(h.managerRequests('POST', RESTORE_POST)).toHaveLength(1);
    expect(delivered(h, 'chat.postMessage', inThread(card.ts, /succeeded/))).toHaveLength(1);
  });
});
