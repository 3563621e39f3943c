import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorBodySchema, InstanceViewSchema, RestoreResponseSchema, TriggerResponseSchema, type InstanceView } from '../ports/backup-manager/schemas';
import { getInstance, postBackup, postRestore } from './__tests__/http';
import { startSimulator, type Simulator, type SimulatorOptions, type TransitionEvent } from './index';

const view = async (sim: Simulator, guid: string): Promise<InstanceView> => InstanceViewSchema.parse((await getInstance(sim, guid)).json());

const LOGGER_LINE = /^([IE]), \[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6} #\d+\] (INFO|ERROR) -- : (.*)$/;
const ACCESS_LINE = /^- [A-Za-z0-9_-]{32} \[\d\d\/[A-Z][a-z]{2}\/\d{4}:\d\d:\d\d:\d\d \+0000\] "POST \/v1\/(restore|order) HTTP\/1\.1" 200 \d+ \d+\.\d{4}$/;

describe('simulator: backups move one step at a time', () => {
  let sim: Simulator;
  let transitions: TransitionEvent[];
  const start = async (options: SimulatorOptions = {}): Promise<void> => {
    sim = await startSimulator({ port: 0, ...options });
    transitions = [];
    sim.events.on('transition', (t) => transitions.push(t));
  };
  afterEach(() => sim.close());

  it('goes queued → running → done only when stepped, with a size once done', async () => {
    await start();
    const { id } = TriggerResponseSchema.parse((await postBackup(sim, 'a9s-pg')).json());
    expect((await view(sim, 'a9s-pg')).backups[0]).toMatchObject({ id, status: 'queued', size: null });
    expect((await view(sim, 'a9s-pg')).backups[0]?.status).toBe('queued');
    await sim.step();
    expect((await view(sim, 'a9s-pg')).backups[0]).toMatchObject({ status: 'running', size: null });
    await sim.step();
    const done = (await view(sim, 'a9s-pg')).backups[0];
    expect(done).toMatchObject({ status: 'done', task: { msg: null } });
    expect(done?.size).toEqual(expect.any(Number));
    await sim.step();
    expect((await view(sim, 'a9s-pg')).backups[0]?.status).toBe('done');
    expect(transitions).toEqual([
      { instance: 'a9s-pg', kind: 'backup', id, from: null, to: 'queued' },
      { instance: 'a9s-pg', kind: 'backup', id, from: 'queued', to: 'running' },
      { instance: 'a9s-pg', kind: 'backup', id, from: 'running', to: 'done' },
    ]);
  });

  it('uses the injected clock for created_at and updated_at', async () => {
    let now = new Date('2018-11-22T04:00:15.718Z');
    await start({ now: () => now });
    await postBackup(sim, 'a9s-pg');
    now = new Date('2018-11-22T04:01:28.853Z');
    await sim.step();
    const body = (await getInstance(sim, 'a9s-pg')).json() as { backups: Array<{ backup_id: string; backup_agent_task: object }> };
    expect(body.backups[0]?.backup_id).toBe('a9s-pg-1542859215718');
    expect(body.backups[0]?.backup_agent_task).toMatchObject({
      created_at: '2018-11-22T04:00:15.718Z',
      updated_at: '2018-11-22T04:01:28.853Z',
    });
  });

  it('fails the next backup with the given msg, whether asked before or after the trigger', async () => {
    await start({ instances: ['svc-1'] });
    sim.failNextBackup('a9s-pg', 'pg_dump: error: disk full');
    const first = TriggerResponseSchema.parse((await postBackup(sim, 'a9s-pg')).json()).id;
    await sim.step();
    const second = TriggerResponseSchema.parse((await postBackup(sim, 'svc-1')).json()).id;
    sim.failNextBackup('svc-1', 'agent unreachable');
    await sim.step();
    await sim.step();
    expect((await view(sim, 'a9s-pg')).backups[0]).toMatchObject({ id: first, status: 'failed', size: null, task: { msg: 'pg_dump: error: disk full' } });
    expect((await view(sim, 'svc-1')).backups[0]).toMatchObject({ id: second, status: 'failed', task: { msg: 'agent unreachable' } });
    // The failure is used up.
    await postBackup(sim, 'a9s-pg');
    await sim.step();
    await sim.step();
    expect((await view(sim, 'a9s-pg')).backups[1]?.status).toBe('done');
  });

  it('fails at random at the configured rate, with an injected random source', async () => {
    await start({ failureRate: 0.5, random: () => 0.1 });
    await postBackup(sim, 'a9s-pg');
    await sim.step();
    await sim.step();
    const backup = (await view(sim, 'a9s-pg')).backups[0];
    expect(backup?.status).toBe('failed');
    expect(backup?.task?.msg).toEqual(expect.any(String));
  });

  it('creates scheduled backups without any request', async () => {
    await start();
    const id = sim.scheduleBackup('a9s-pg');
    expect(sim.requests).toEqual([]);
    expect((await view(sim, 'a9s-pg')).backups.map((b) => [b.id, b.status])).toEqual([[id, 'queued']]);
  });

  it('creates scheduled backups on a timer when scheduleEveryMs is set', async () => {
    await start({ scheduleEveryMs: 5, instances: ['svc-1'] });
    const created = await sim.waitFor('transition', (t) => t.from === null && t.instance === 'svc-1');
    expect(created).toMatchObject({ kind: 'backup', to: 'queued' });
    expect((await view(sim, 'svc-1')).backups.length).toBeGreaterThanOrEqual(1);
  });

  it('moves tasks on its own when stepMs is set', async () => {
    await start({ stepMs: 5 });
    const { id } = TriggerResponseSchema.parse((await postBackup(sim, 'a9s-pg')).json());
    await sim.waitFor('transition', (t) => t.id === id && t.to === 'done');
    expect((await view(sim, 'a9s-pg')).backups[0]?.status).toBe('done');
  });

  it('keeps seeded history and marks a backup deleted', async () => {
    await start();
    const old = sim.seedBackup('a9s-pg', { status: 'done', size: 44985152, createdAt: '2018-11-22T04:00:15.718Z' });
    const failed = sim.seedBackup('a9s-pg', { status: 'failed', msg: 'boom' });
    sim.deleteBackup('a9s-pg', old);
    const backups = (await view(sim, 'a9s-pg')).backups;
    expect(backups.map((b) => [b.id, b.status, b.size, b.task?.msg])).toEqual([
      [old, 'deleted', 44985152, null],
      [failed, 'failed', null, 'boom'],
    ]);
    expect(sim.view('a9s-pg').backups[0]?.backup_id).toBe('a9s-pg-1542859215718');
    expect(transitions).toContainEqual({ instance: 'a9s-pg', kind: 'backup', id: old, from: 'done', to: 'deleted' });
  });

  it.each(['newest-first', 'shuffled'] as const)('can list backups %s', async (backupOrder) => {
    await start({ backupOrder, random: () => 0 });
    const ids = [1, 2, 3].map(() => sim.seedBackup('a9s-pg', { status: 'done' }));
    const listed = (await view(sim, 'a9s-pg')).backups.map((b) => b.id);
    expect([...listed].sort()).toEqual(ids);
    expect(listed).not.toEqual(ids);
  });
});

describe('simulator: service-instance restores', () => {
  let sim: Simulator;
  let dir: string;
  let logPath: string;
  const logLines = (): string[] => readFileSync(logPath, 'utf8').split('\n').filter((l) => l !== '');
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sim-restore-'));
    logPath = join(dir, 'backup-agent', 'production.log');
    sim = await startSimulator({ port: 0, instances: ['svc-1'], agentLogPath: logPath });
  });
  afterEach(async () => {
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('records the restore with a backup_agent_tasks array, refuses a second one with 409, and ends done', async () => {
    const instanceId = (await view(sim, 'svc-1')).id;
    const backupId = sim.seedBackup('svc-1', { status: 'done' });
    const res = await postRestore(sim, backupId, instanceId);
    expect(res.status).toBe(201);
    const { id } = RestoreResponseSchema.parse(res.json());
    expect(res.json()).toEqual({ id, message: 'job to restore is queued' });

    const second = await postRestore(sim, backupId, instanceId);
    expect(second.status).toBe(409);
    expect(ErrorBodySchema.parse(second.json()).error).toBe('RestoreInProgress');

    const raw = (await getInstance(sim, 'svc-1')).json() as { restores: Array<Record<string, unknown>> };
    expect(raw.restores).toHaveLength(1);
    expect(Object.keys(raw.restores[0] ?? {})).toEqual(['id', 'instance_id', 'backup_id', 'backup_agent_tasks']);
    expect(raw.restores[0]).toMatchObject({ id, instance_id: instanceId, backup_id: backupId });
    expect(raw.restores[0]?.backup_agent_tasks).toEqual([expect.objectContaining({ status: 'queued', task_id: id, msg: null })]);
    expect((await view(sim, 'svc-1')).restores[0]).toMatchObject({ id, backupId, status: 'queued' });

    await sim.step();
    expect((await view(sim, 'svc-1')).restores[0]?.status).toBe('running');
    await sim.step();
    expect((await view(sim, 'svc-1')).restores[0]?.status).toBe('done');
    expect(sim.listening).toBe(true);

    const lines = logLines();
    expect(lines.map((l) => ACCESS_LINE.exec(l)?.[1] ?? LOGGER_LINE.exec(l)?.[3])).toEqual(['restore', 'order', 'success', 'order']);

    // Once done, a new restore is accepted again.
    expect((await postRestore(sim, backupId, instanceId)).status).toBe(201);
  });

  it('ends failed with the msg and an ERROR line when told to fail', async () => {
    const instanceId = (await view(sim, 'svc-1')).id;
    const backupId = sim.seedBackup('svc-1', { status: 'done' });
    sim.failNextRestore('svc-1', 'pg_restore: error: could not connect');
    await postRestore(sim, backupId, instanceId);
    await sim.step();
    await sim.step();
    expect((await view(sim, 'svc-1')).restores[0]).toMatchObject({ status: 'failed', msg: 'pg_restore: error: could not connect' });
    const last = logLines().at(-1) ?? '';
    expect(LOGGER_LINE.exec(last)?.slice(1)).toEqual(['E', 'ERROR', 'pg_restore: error: could not connect']);
  });
});
