import { once } from 'node:events';
import { ALERTS, ALICE, BOB, Harness, OPS, textOf, type Args } from './harness';

const PG = 'a9s-pg';
const BOUND_MS = 1500;

describe('App Home', () => {
  let h: Harness;
  afterEach(async () => {
    await h.close();
  });

  const homeText = (user = ALICE) => JSON.stringify(h.slack.views.home(user.id) ?? {});
  const publishes = (user = ALICE) => h.callsOf('views.publish', (a) => a.user_id === user.id);

  /** A read of the watched instance, taken in by the Home. */
  async function readIntoHome(): Promise<void> {
    const read = once(h.bot.home.events, 'read');
    await h.bot.watch.tickOnce();
    await read;
  }

  async function start(env: Record<string, string> = {}): Promise<void> {
    h = await Harness.start({ startBot: false, bot: { homeMinIntervalMs: BOUND_MS }, env: { ALLOWED_INSTANCES: `${PG},svc-1`, ...env } });
    h.sim.seedBackup(PG, { status: 'done', size: 3 * 1024 * 1024, createdAt: new Date(Date.now() - 2 * 3_600_000) });
    h.sim.seedBackup(PG, { status: 'failed', msg: 'pg_dump: <b>disk</b> full', createdAt: new Date(Date.now() - 3_600_000) });
    await h.startBot();
    await readIntoHome();
  }

  it('publishes the overview to the person who opens it: last good backup, last failure, manager and generation', async () => {
    await start();
    const published = once(h.bot.home.events, 'published');
    await h.openHome(ALICE);
    await published;
    const text = homeText();
    expect(text).toContain('a9s-pg');
    expect(text).toContain('3.0 MiB');
    expect(text).toContain('Last failure');
    expect(text).toContain('&lt;b&gt;disk&lt;/b&gt; full');
    expect(text).toMatch(/Backup Manager:\*.*reachable/);
    expect(text).toMatch(/API generation: `(rest|legacy)`/);
    // Allowed but not watched: shown, not read.
    expect(text).toContain('svc-1');
    expect(text).toContain('not read yet');
    expect(h.slack.views.home(BOB.id)).toBeUndefined();
  });

  it('refreshes on a backup transition, never more often than the bound', async () => {
    await start();
    await h.openHome(ALICE);
    await h.waitFor('views.publish', (a) => a.user_id === ALICE.id);
    await h.command('now');
    await h.waitFor('chat.postMessage', (a) => a.channel === OPS.id && a.thread_ts === undefined);
    await h.sim.step();
    await h.sim.step();
    await h.sim.step();
    await h.waitFor('chat.update', (a) => a.channel === OPS.id && /: done$/.test(a.text ?? ''));
    // Its end was published: the new backup is the last good one, none is running.
    await h.slack.waitForCall((c) => c.method === 'views.publish' && /Last good backup: [^\n]*\(id 150,/.test(homeText()) && !/Backup \d+ (queued|running)/.test(homeText()), 15_000);
    const times = publishes().map((c) => c.at);
    for (let i = 1; i < times.length; i++) expect((times[i] as number) - (times[i - 1] as number)).toBeGreaterThanOrEqual(BOUND_MS - 50);
  });

  it('/pgbackup status alone shows the same overview, privately', async () => {
    await start();
    const { ack } = await h.command('status');
    expect(ack.response_type).toBe('ephemeral');
    expect(textOf(ack)).toContain('backups at a glance');
    expect(textOf(ack)).toContain('3.0 MiB');
    const list = await h.command(`status ${PG}`);
    expect(textOf(list.ack)).toMatch(/Asking the Backup Manager for the backups/);
  });

  it('Back up now and List on the Home act like the commands, in NOTIFY_CHANNEL', async () => {
    await start();
    await h.openHome(ALICE);
    await h.waitFor('views.publish', (a) => a.user_id === ALICE.id);
    await h.clickHome(ALICE, 'home_list', PG);
    const list = await h.waitFor('chat.postEphemeral', (a) => a.user === ALICE.id && a.channel === ALERTS.id);
    expect(textOf(list.args as Args)).toMatch(/Latest backups of/);
    const posts = h.managerRequests('POST').length;
    await h.clickHome(ALICE, 'home_backup_now', PG);
    await h.waitFor('chat.postMessage', (a) => a.channel === ALERTS.id && a.thread_ts === undefined && /a9s-pg/.test(a.text ?? ''));
    expect(h.managerRequests('POST').length).toBe(posts + 1);
  });

  it('refuses Back up now on the Home to someone who may not run `now`, and starts nothing', async () => {
    await start({ OPERATORS: BOB.id });
    await h.openHome(ALICE);
    await h.waitFor('views.publish', (a) => a.user_id === ALICE.id);
    const posts = h.managerRequests('POST').length;
    await h.clickHome(ALICE, 'home_backup_now', PG);
    const refusal = await h.waitFor('chat.postEphemeral', (a) => a.user === ALICE.id);
    expect(textOf(refusal.args as Args)).toMatch(/start backups/);
    expect(h.managerRequests('POST').length).toBe(posts);
  });
});
