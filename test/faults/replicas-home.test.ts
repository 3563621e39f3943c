import { ALICE, type Harness } from '../e2e/harness';
import { buildForProcessTests } from '../helpers/build';
import { killHard, until, type BotProcess } from '../helpers/bot-process';
import { Replicas } from '../helpers/replicas';

/**
 * The App Home with replicas on one PostgreSQL: whichever replica Slack hands `app_home_opened`
 * to, the person gets the leader's view (the only replica that reads), and its refreshes, also
 * from a leader that took over. And `/pgbackup status` on any replica shows the leader's read.
 */

const POLL_MS = 400;
const PG = 'pg-orders';
/** Only the watched instance's read can show this size: a follower's view would say "not read yet". */
const READ_SIZE = '3.0 MiB';

let mainJs: string;

beforeAll(() => {
  mainJs = buildForProcessTests('replicas-home');
}, 120_000);

describe('App Home with several replicas on one PostgreSQL', () => {
  let replicas: Replicas | undefined;
  let h: Harness;

  afterEach(async () => {
    await replicas?.close();
    replicas = undefined;
  });

  async function start(): Promise<Replicas> {
    replicas = await Replicas.start({ mainJs, count: 2, pollMs: POLL_MS, simulator: { instances: [PG] }, env: { WATCH_INSTANCES: PG, WATCH_INTERVAL_MS: '500' } });
    h = replicas.h;
    h.sim.seedBackup(PG, { status: 'done', size: 3 * 1024 * 1024, createdAt: new Date(Date.now() - 3_600_000) });
    // Only the leader's reader reads the watched instance (the readiness probe reads the
    // default one). It starts a scheduled read only once the one before was taken in: at the
    // second read that arrives after the seed, the first one (which saw it) is in the Home.
    const reads = () => h.managerRequests('GET').filter((r) => r.path.includes(PG)).length;
    const seeded = reads();
    await until('two reads of the watched instance after the seed', () => (reads() >= seeded + 2 ? true : undefined));
    return replicas;
  }

  const homeOf = (user = ALICE): string => JSON.stringify(h.slack.views.home(user.id) ?? {});
  const publishes = (user = ALICE): string[] => h.callsOf('views.publish', (a) => a.user_id === user.id).map((c) => JSON.stringify(c.args));

  async function openThroughFollower(r: Replicas): Promise<BotProcess> {
    const follower = (await r.followers())[0] as BotProcess;
    h.botUrl = follower.url;
    expect((await h.openHome(ALICE)).status).toBe(200);
    await h.slack.waitForCall((c) => c.method === 'views.publish' && homeOf().includes(READ_SIZE), 15_000);
    return follower;
  }

  async function failBackup(): Promise<void> {
    h.sim.seedBackup(PG, { status: 'failed', msg: 'pg_dump: disk full', createdAt: new Date() });
    // Published within the per-person bound (5 s) after the next watch read.
    await h.slack.waitForCall((c) => c.method === 'views.publish' && homeOf().includes('disk full'), 20_000);
  }

  it('opened through a follower: the leader publishes its read, and publishes again when a backup fails', async () => {
    await openThroughFollower(await start());
    await failBackup();
    // No replica published a view built without the read (a follower's own would be one).
    for (const p of publishes()) expect(p).toContain(READ_SIZE);
  });

  it('the leader killed: the next one goes on refreshing the Home of whoever opened it', async () => {
    const r = await start();
    const first = await r.leader();
    await openThroughFollower(r);
    await killHard(first);
    await r.leader(r.bots.filter((b) => b !== first));
    await failBackup();
    for (const p of publishes()) expect(p).toContain(READ_SIZE);
  });

  it("/pgbackup status handed to a follower shows the leader's read, the manager's health and when it was read", async () => {
    const r = await start();
    const follower = (await r.followers())[0] as BotProcess;
    h.botUrl = follower.url;
    const { status, ack } = await h.command('status');
    expect(status).toBe(200);
    const text = JSON.stringify(ack);
    // The watched instance as the leader read it (the default one, not watched, is read by nobody).
    expect(text).toContain(`*\`${PG}\`* · :white_check_mark: backed up\\nRead <!date^`);
    expect(text).toContain(READ_SIZE);
    expect(text).toMatch(/\*Backup Manager:\* :large_green_circle: reachable .*\\nRead <!date\^\d+\^/);
  });
});
