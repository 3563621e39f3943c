import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InstanceViewSchema, RestoreResponseSchema, TriggerResponseSchema } from '../ports/backup-manager/schemas';
import { basic, connectionError, getInstance, postBackup, postRestore } from './__tests__/http';
import { startSimulator, type OutageEndEvent, type OutageStartEvent, type Simulator, type SimulatorOptions } from './index';

/** The seed's a9s-pg restore: the manager goes away, forgets, and only the agent log tells. */

const ACCESS_LINE = /^- ([A-Za-z0-9_-]{32}) \[\d\d\/[A-Z][a-z]{2}\/\d{4}:\d\d:\d\d:\d\d \+0000\] "POST \/v1\/(restore|order) HTTP\/1\.1" 200 \d+ \d+\.\d{4}$/;
const LOGGER_LINE = /^([IE]), \[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6} #\d+\] (INFO|ERROR) -- : (.*)$/;

describe('simulator: a9s-pg restore', () => {
  let sim: Simulator;
  let dir: string;
  let logPath: string;
  let clock: number;
  let outages: Array<OutageStartEvent | OutageEndEvent>;

  const start = async (options: SimulatorOptions = {}): Promise<void> => {
    sim = await startSimulator({ port: 0, instances: ['svc-1'], agentLogPath: logPath, now: () => new Date(clock), ...options });
    outages = [];
    sim.events.on('outage-start', (e) => outages.push(e));
    sim.events.on('outage-end', (e) => outages.push(e));
  };
  const logLines = (): string[] => readFileSync(logPath, 'utf8').split('\n').filter((l) => l !== '');
  /** A restorable backup, a newer one, and a newer queued one on a9s-pg; a newer one on svc-1. */
  const history = async (): Promise<{ restored: number; newer: number[]; svcNewer: number }> => {
    const restored = sim.seedBackup('a9s-pg', { status: 'done', createdAt: new Date(clock - 3_600_000) });
    const done = sim.seedBackup('a9s-pg', { status: 'done', createdAt: new Date(clock - 60_000) });
    const svcNewer = sim.seedBackup('svc-1', { status: 'done', createdAt: new Date(clock - 30_000) });
    clock += 1000;
    const queued = TriggerResponseSchema.parse((await postBackup(sim, 'a9s-pg')).json()).id;
    return { restored, newer: [done, queued], svcNewer };
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sim-pg-'));
    logPath = join(dir, 'production.log');
    clock = Date.parse('2018-11-20T12:12:30.000Z');
  });
  afterEach(async () => {
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses connections during the restore, comes back on the same port, forgets newer backups, logs success', async () => {
    await start();
    const { restored, newer, svcNewer } = await history();
    const port = sim.port;

    const started = sim.waitFor('outage-start');
    const res = await postRestore(sim, restored, 38);
    expect(res.status).toBe(201);
    expect(res.headers.connection).toBe('close');
    expect(RestoreResponseSchema.parse(res.json()).id).toEqual(expect.any(Number));
    await started;
    expect(sim.restoring).toBe(true);
    expect(sim.listening).toBe(false);
    expect(await connectionError(getInstance(sim, 'a9s-pg'))).toBe('ECONNREFUSED');
    expect(await connectionError(fetch(`${sim.url}/instances/a9s-pg`))).toBe('ECONNREFUSED');
    expect(outages).toEqual([{ reason: 'restore', instance: 'a9s-pg', restoreId: expect.any(Number), backupId: restored }]);

    for (let i = 0; i < 2; i++) {
      clock += 30_000;
      await sim.step();
      expect(await connectionError(getInstance(sim, 'a9s-pg'))).toBe('ECONNREFUSED');
    }
    clock += 30_000;
    await sim.step();

    expect(sim.restoring).toBe(false);
    expect(sim.port).toBe(port);
    const view = InstanceViewSchema.parse((await getInstance(sim, 'a9s-pg')).json());
    expect(view.backups.map((b) => b.id)).toEqual([restored]);
    expect(view.restores).toEqual([]);
    expect(InstanceViewSchema.parse((await getInstance(sim, 'svc-1')).json()).backups.map((b) => b.id)).not.toContain(svcNewer);
    expect(outages[1]).toEqual({
      reason: 'restore',
      instance: 'a9s-pg',
      restoreId: expect.any(Number),
      backupId: restored,
      outcome: 'success',
      msg: null,
      forgotten: expect.arrayContaining([
        expect.objectContaining({ instance: 'a9s-pg', id: newer[0] }),
        expect.objectContaining({ instance: 'a9s-pg', id: newer[1] }),
        expect.objectContaining({ instance: 'svc-1', id: svcNewer }),
      ]),
    });

    const lines = logLines();
    const kinds = lines.map((l) => ACCESS_LINE.exec(l)?.[2] ?? `${LOGGER_LINE.exec(l)?.[2]}: ${LOGGER_LINE.exec(l)?.[3]}`);
    expect(kinds).toEqual(['restore', 'order', 'order', 'order', 'INFO: success', 'order']);
    expect(new Set(lines.filter((l) => l.startsWith('- ')).map((l) => ACCESS_LINE.exec(l)?.[1])).size).toBe(1);
    expect(lines[0]).toMatch(/^- [A-Za-z0-9_-]{32} \[20\/Nov\/2018:12:12:31 \+0000\] "POST \/v1\/restore HTTP\/1\.1" 200 21 0\.00\d\d$/);
    expect(lines[4]).toMatch(/^I, \[2018-11-20T12:14:01\.000000 #\d+\] INFO -- : success$/);

    // The manager works normally again, and its ids keep increasing.
    const next = TriggerResponseSchema.parse((await postBackup(sim, 'a9s-pg')).json()).id;
    expect(next).toBeGreaterThan(Math.max(...newer));
  });

  it('also refuses a client that keeps connections alive (like the bot\'s undici pool)', async () => {
    await start();
    const restored = sim.seedBackup('a9s-pg', { status: 'done' });
    const headers = { authorization: basic('admin:secret'), 'content-type': 'application/json' };
    expect(InstanceViewSchema.parse(await (await fetch(`${sim.url}/instances/a9s-pg`, { headers })).json()).id).toBe(38);
    const started = sim.waitFor('outage-start');
    const res = await fetch(`${sim.url}/backup_agent/restores`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ backup_id: restored, instance_id: 38 }),
    });
    expect(res.status).toBe(201);
    expect(RestoreResponseSchema.parse(await res.json()).id).toEqual(expect.any(Number));
    await started;
    expect(await connectionError(fetch(`${sim.url}/instances/a9s-pg`, { headers }))).toBe('ECONNREFUSED');
    for (let i = 0; i < 3; i++) await sim.step();
    expect((await fetch(`${sim.url}/instances/a9s-pg`, { headers })).status).toBe(200);
  });

  it('freezes other tasks while the manager is gone', async () => {
    await start();
    const restored = sim.seedBackup('a9s-pg', { status: 'done', createdAt: new Date(clock - 1000) });
    const svcBackup = TriggerResponseSchema.parse((await postBackup(sim, 'svc-1')).json()).id;
    await postRestore(sim, restored, 38);
    await sim.step();
    await sim.step();
    expect(sim.restoring).toBe(true);
    // svc-1's backup is newer than the restored one, so a successful restore forgets it; fail it to keep it.
    sim.failNextRestore('a9s-pg', 'x');
    await sim.step();
    expect(sim.view('svc-1').backups.find((b) => b.id === svcBackup)?.backup_agent_task.status).toBe('queued');
  });

  it('ends in an ERROR line and keeps every backup when the restore fails', async () => {
    await start();
    const { restored, newer } = await history();
    sim.failNextRestore('a9s-pg', 'pg_restore: error: could not execute query');
    expect((await postRestore(sim, restored, 38)).status).toBe(201);
    const ended = sim.waitFor('outage-end');
    for (let i = 0; i < 3; i++) await sim.step();
    expect(await ended).toMatchObject({ reason: 'restore', outcome: 'failed', msg: 'pg_restore: error: could not execute query', forgotten: [] });

    const view = InstanceViewSchema.parse((await getInstance(sim, 'a9s-pg')).json());
    expect(view.backups.map((b) => b.id)).toEqual([restored, ...newer]);
    expect(view.restores).toEqual([]);
    const last = logLines().at(-1) ?? '';
    expect(last).toMatch(/^E, \[2018-11-20T\d\d:\d\d:\d\d\.\d{6} #\d+\] ERROR -- : pg_restore: error: could not execute query$/);
  });

  it('answers 503 during the restore in 503 mode', async () => {
    await start({ restoreOutage: '503', restoreSteps: 1 });
    const restored = sim.seedBackup('a9s-pg', { status: 'done' });
    const started = sim.waitFor('outage-start');
    expect((await postRestore(sim, restored, 38)).status).toBe(201);
    await started;
    const during = await getInstance(sim, 'a9s-pg');
    expect(during.status).toBe(503);
    expect(during.headers['content-type']).toMatch(/text\/html/);
    expect(sim.requests.at(-1)?.path).toBe('/instances/a9s-pg');
    await sim.step();
    expect((await getInstance(sim, 'a9s-pg')).status).toBe(200);
  });

  it('comes back by itself when stepMs is set', async () => {
    await start({ stepMs: 5, restoreSteps: 2 });
    const restored = sim.seedBackup('a9s-pg', { status: 'done' });
    const ended = sim.waitFor('outage-end');
    expect((await postRestore(sim, restored, 38)).status).toBe(201);
    expect(await ended).toMatchObject({ outcome: 'success' });
    expect((await getInstance(sim, 'a9s-pg')).status).toBe(200);
    expect(logLines().some((l) => / INFO -- : success$/.test(l))).toBe(true);
  });

  it('emits each log line as an event too', async () => {
    await start({ agentLogPath: undefined, restoreSteps: 1 });
    const lines: string[] = [];
    sim.events.on('log-line', (l) => lines.push(l));
    const restored = sim.seedBackup('a9s-pg', { status: 'done' });
    await postRestore(sim, restored, 38);
    await sim.step();
    expect(lines).toHaveLength(4);
    expect(lines[2]).toMatch(LOGGER_LINE);
  });
});
