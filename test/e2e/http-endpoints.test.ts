import { httpGet as get } from '../helpers/http';
import { Harness } from './harness';

/** A minimal reader of the Prometheus text format: `name{labels} value` lines. */
function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{.*\})?) (\S+)$/.exec(line);
    if (!m) throw new Error(`not Prometheus text: ${line}`);
    out.set(m[1] as string, Number(m[2]));
  }
  return out;
}

describe('HTTP endpoints', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await Harness.start();
  });
  afterEach(async () => {
    await h.close();
  });

  it('/healthz answers 200 while the process is up, whatever the manager does', async () => {
    await h.sim.setFault({ kind: 'down' });
    expect((await get(`${h.bot.url}/healthz`)).status).toBe(200);
  });

  it('/readyz flips when the Backup Manager stops and starts, and says which part is down', async () => {
    const up = await get(`${h.bot.url}/readyz`);
    expect(up.status).toBe(200);
    expect(JSON.parse(up.text)).toEqual({ ready: true, slack: 'ok', backupManager: 'ok', store: 'ok', api: 'legacy', role: 'leader' });
    await h.sim.setFault({ kind: 'down' });
    const down = await get(`${h.bot.url}/readyz`);
    expect(down.status).toBe(503);
    // An outage is not a change of version: the generation found before is still shown.
    expect(JSON.parse(down.text)).toEqual({ ready: false, slack: 'ok', backupManager: 'down', store: 'ok', api: 'legacy', role: 'leader' });
    await h.sim.setFault(null);
    expect((await get(`${h.bot.url}/readyz`)).status).toBe(200);
  });

  it('/readyz reports Slack down when the token is rejected', async () => {
    h.slack.failNext('auth.test', { error: 'invalid_auth' });
    const res = await get(`${h.bot.url}/readyz`);
    expect(res.status).toBe(503);
    expect(JSON.parse(res.text)).toMatchObject({ slack: 'down', backupManager: 'ok' });
  });

  it('/metrics is Prometheus text and counts commands, manager requests and tracked tasks', async () => {
    await h.command('help');
    await h.command('now');
    await h.waitFor('chat.postMessage');
    const res = await get(`${h.bot.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.type).toMatch(/text\/plain/);
    const m = parseMetrics(res.text);
    expect(m.get('pgbackup_commands_total{command="help",outcome="ok"}')).toBe(1);
    expect(m.get('pgbackup_commands_total{command="now",outcome="tracked"}')).toBe(1);
    expect(m.get('pgbackup_backup_manager_request_duration_seconds_count{route="/backup_agent/backup",method="POST",status="201"}')).toBe(1);
    expect(m.get('pgbackup_tracked_tasks{status="queued"}')).toBe(1);
    expect(m.get('pgbackup_pending_restore_requests')).toBe(0);
    expect(m.has('pgbackup_outbox_queue_depth')).toBe(true);
    expect([...m.keys()].some((k) => k.startsWith('pgbackup_slack_calls_total{method="chat.postMessage",outcome="ok"}'))).toBe(true);
  });

  it('answers 404 on unknown paths', async () => {
    expect((await get(`${h.bot.url}/nope`)).status).toBe(404);
  });
});
