import { once } from 'node:events';
import { httpGet } from '../helpers/http';
import { ALERTS, Harness, textOf, type Args } from './harness';

const PG = 'a9s-pg';
const HOUR = 3_600_000;

describe('staleness alarm', () => {
  let h: Harness;
  afterEach(async () => {
    await h.close();
  });

  const staleNotices = () => h.callsOf('chat.postMessage', (a) => a.channel === ALERTS.id && /No good backup of a9s-pg/.test(a.text ?? ''));
  const recoveryNotices = () => h.callsOf('chat.postMessage', (a) => a.channel === ALERTS.id && /a9s-pg is backed up again/.test(a.text ?? ''));
  /** Every notice ever queued, sent or not: a repeat would be a new outbox job. */
  const queued = (prefix: string) =>
    (h.bot.deps.store.db.prepare('SELECT key FROM outbox_jobs WHERE key LIKE ?').all(`${prefix}:%`) as Array<{ key: string }>).map((r) => r.key);

  /** One read of the watched instance, decided by the alarm: after it, what it would announce is queued. */
  async function readAndDecide(): Promise<void> {
    const checked = once(h.bot.staleness.events, 'checked');
    await h.bot.watch.tickOnce();
    await checked;
  }

  async function metric(line: RegExp): Promise<number> {
    const res = await httpGet(`${h.bot.url}/metrics`);
    const found = res.text.split('\n').find((l) => line.test(l));
    if (!found) throw new Error(`no metric matching ${line}`);
    return Number(found.split(' ').pop());
  }

  it('announces a stale instance once and its recovery once, across restarts, and exports both metrics', async () => {
    h = await Harness.start({ startBot: false });
    const takenAt = Date.now() - 30 * HOUR;
    h.sim.seedBackup(PG, { status: 'done', size: 2048, createdAt: new Date(takenAt) });
    h.sim.seedBackup(PG, { status: 'failed', msg: 'disk full', createdAt: new Date(Date.now() - HOUR) });
    h.sim.setInstanceConfig(PG, { excludeFromAutoBackup: true });
    await h.startBot();

    const notice = await h.waitFor('chat.postMessage', (a) => a.channel === ALERTS.id && /No good backup of a9s-pg/.test(a.text ?? ''));
    expect(textOf(notice.args as Args)).toMatch(/30h 0m/);
    expect(textOf(notice.args as Args)).toMatch(/excluded from scheduled backups/);
    expect(await metric(/^pgbackup_stale_instances /)).toBe(1);
    expect(await metric(/^pgbackup_last_success_timestamp_seconds\{instance="a9s-pg"\} /)).toBe(Math.floor(takenAt / 1000));

    await readAndDecide();
    await h.bot.stop();
    await h.startBot();
    await readAndDecide();
    expect(queued('stale')).toHaveLength(1);
    expect(staleNotices()).toHaveLength(1);
    expect(await metric(/^pgbackup_stale_instances /)).toBe(1);

    const freshAt = Date.now() - 60_000;
    const fresh = h.sim.seedBackup(PG, { status: 'done', size: 4096, createdAt: new Date(freshAt) });
    await readAndDecide();
    const recovery = await h.waitFor('chat.postMessage', (a) => a.channel === ALERTS.id && /a9s-pg is backed up again/.test(a.text ?? ''));
    expect(textOf(recovery.args as Args)).toContain(`id ${fresh}`);
    expect(await metric(/^pgbackup_stale_instances /)).toBe(0);
    expect(await metric(/^pgbackup_last_success_timestamp_seconds\{instance="a9s-pg"\} /)).toBe(Math.floor(freshAt / 1000));

    await h.bot.stop();
    await h.startBot();
    await readAndDecide();
    expect(queued('stale-recovered')).toHaveLength(1);
    expect(recoveryNotices()).toHaveLength(1);
    expect(queued('stale')).toHaveLength(1);
    expect(staleNotices()).toHaveLength(1);
  });

  it('stays quiet about an instance with a recent good backup, and asks the manager for no config', async () => {
    h = await Harness.start({ startBot: false });
    h.sim.seedBackup(PG, { status: 'done', createdAt: new Date(Date.now() - 2 * HOUR) });
    await h.startBot();
    const before = h.sim.requests.length;
    await readAndDecide();
    // The config is read only for a notice.
    const reads = h.sim.requests.slice(before).filter((r) => r.method === 'GET');
    expect(reads.every((r) => !/\/config$/.test(r.path))).toBe(true);
    expect(queued('stale')).toHaveLength(0);
    expect(await metric(/^pgbackup_stale_instances /)).toBe(0);
  });
});
