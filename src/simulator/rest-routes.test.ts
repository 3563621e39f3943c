import { call, getInstance, postBackup } from './__tests__/http';
import { startSimulator, type SimApi, type Simulator } from './index';

/** The newer REST routes over the same model as the seed's, and SIM_API choosing which are served. */

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

describe('simulator: REST routes (SIM_API=both)', () => {
  let sim: Simulator;
  beforeEach(async () => {
    sim = await startSimulator({ port: 0, instances: ['svc-1'] });
  });
  afterEach(() => sim.close());

  it('POST /instances/:guid/backups starts a backup the legacy view shows too', async () => {
    const res = await call(sim, 'POST', '/instances/svc-1/backups');
    expect(res.status).toBe(201);
    const { id } = res.json() as { id: number };
    expect(res.json()).toEqual({ id, message: 'job to backup is queued' });
    const legacy = getInstance(sim, 'svc-1').then((r) => r.json() as { backups: Array<{ id: number; backup_agent_task: { status: string } }> });
    expect((await legacy).backups.map((b) => [b.id, b.backup_agent_task.status])).toEqual([[id, 'queued']]);
  });

  it('GET /instances/:guid/backups lists the same backups as the legacy view, in the REST shape', async () => {
    const { id } = (await postBackup(sim, 'svc-1')).json() as { id: number };
    await sim.step();
    await sim.step();
    const res = await call(sim, 'GET', '/instances/svc-1/backups');
    expect(res.status).toBe(200);
    const [backup, ...more] = res.json() as Array<Record<string, unknown>>;
    expect(more).toEqual([]);
    expect(Object.keys(backup ?? {}).sort()).toEqual(['downloadable', 'finished_at', 'id', 'size', 'status', 'triggered_at']);
    const legacy = sim.view('svc-1').backups[0];
    expect(backup).toEqual({
      id,
      size: legacy?.size,
      status: 'done',
      triggered_at: legacy?.backup_agent_task.created_at,
      finished_at: legacy?.backup_agent_task.updated_at,
      downloadable: false,
    });
    expect(backup?.triggered_at).toMatch(ISO);
  });

  it('leaves finished_at null while a backup runs', async () => {
    await call(sim, 'POST', '/instances/svc-1/backups');
    const [backup] = (await call(sim, 'GET', '/instances/svc-1/backups')).json() as Array<Record<string, unknown>>;
    expect(backup).toMatchObject({ status: 'queued', finished_at: null, size: null });
  });

  it('POST /instances/:guid/backups/:id/restore answers 202 {id}; the restore shows in both generations', async () => {
    const backupId = sim.seedBackup('svc-1', { status: 'done', createdAt: '2026-01-01T01:30:00.000Z' });
    const res = await call(sim, 'POST', `/instances/svc-1/backups/${backupId}/restore`);
    expect(res.status).toBe(202);
    const { id } = res.json() as { id: number };
    expect(res.json()).toEqual({ id });
    const restores = (await call(sim, 'GET', '/instances/svc-1/restores')).json() as Array<Record<string, unknown>>;
    expect(restores).toEqual([{ id, backup_id: backupId, status: 'queued', triggered_at: expect.stringMatching(ISO) as unknown, finished_at: null }]);
    expect(sim.view('svc-1').restores.map((r) => [r.id, r.backup_id])).toEqual([[id, backupId]]);
    await sim.step();
    await sim.step();
    const one = (await call(sim, 'GET', `/instances/svc-1/restores/${id}`)).json() as Record<string, unknown>;
    expect(one).toMatchObject({ id, status: 'done', finished_at: expect.stringMatching(ISO) as unknown });
  });

  it('refuses restores like the Go client expects: 404 BackupNotFound, 422 BackupNonRestorableState, 409 RestoreInProgress', async () => {
    const failed = sim.seedBackup('svc-1', { status: 'failed' });
    const done = sim.seedBackup('svc-1', { status: 'done' });
    const notFound = await call(sim, 'POST', '/instances/svc-1/backups/9999/restore');
    expect([notFound.status, (notFound.json() as { error: string }).error]).toEqual([404, 'BackupNotFound']);
    const nonRestorable = await call(sim, 'POST', `/instances/svc-1/backups/${failed}/restore`);
    expect([nonRestorable.status, (nonRestorable.json() as { error: string }).error]).toEqual([422, 'BackupNonRestorableState']);
    expect((await call(sim, 'POST', `/instances/svc-1/backups/${done}/restore`)).status).toBe(202);
    const busy = await call(sim, 'POST', `/instances/svc-1/backups/${done}/restore`);
    expect([busy.status, (busy.json() as { error: string }).error]).toEqual([409, 'RestoreInProgress']);
  });

  it('answers 404 InstanceNotFound for an unknown instance on every REST route', async () => {
    for (const [method, path] of [
      ['GET', '/instances/nope/backups'],
      ['POST', '/instances/nope/backups'],
      ['GET', '/instances/nope/restores'],
      ['GET', '/instances/nope/config'],
      ['POST', '/instances/nope/backups/148/restore'],
    ] as const) {
      const res = await call(sim, method, path);
      expect([method, path, res.status, (res.json() as { error: string }).error]).toEqual([method, path, 404, 'InstanceNotFound']);
    }
  });

  it('GET /instances/:guid/config answers the instance config in klutchio field names', async () => {
    expect((await call(sim, 'GET', '/instances/svc-1/config')).json()).toEqual({
      retention_time: 14,
      min_backup_count: 3,
      min_encryption_key_length: 8,
      exclude_from_auto_backup: false,
      backup_type: null,
    });
    sim.setInstanceConfig('svc-1', { excludeFromAutoBackup: true, retentionTimeDays: 30 });
    expect((await call(sim, 'GET', '/instances/svc-1/config')).json()).toMatchObject({ exclude_from_auto_backup: true, retention_time: 30 });
  });

  it('asks for the same credentials', async () => {
    expect((await call(sim, 'GET', '/instances/svc-1/backups', { auth: 'admin:wrong' })).status).toBe(401);
  });

  it('applies the unknownStatus fault to REST answers too', async () => {
    const { id } = (await call(sim, 'POST', '/instances/svc-1/backups')).json() as { id: number };
    await sim.setFault({ kind: 'unknownStatus', status: 'paused', id });
    const [backup] = (await call(sim, 'GET', '/instances/svc-1/backups')).json() as Array<{ status: string }>;
    expect(backup?.status).toBe('paused');
  });
});

describe('simulator: SIM_API chooses the generations served', () => {
  const probes = async (api: SimApi): Promise<Record<string, number>> => {
    const sim = await startSimulator({ port: 0, api });
    try {
      return {
        legacyView: (await getInstance(sim, 'a9s-pg')).status,
        legacyBackup: (await postBackup(sim, 'a9s-pg')).status,
        restBackups: (await call(sim, 'GET', '/instances/a9s-pg/backups')).status,
        restTrigger: (await call(sim, 'POST', '/instances/a9s-pg/backups')).status,
        backupsKept: sim.view('a9s-pg').backups.length,
      };
    } finally {
      await sim.close();
    }
  };

  it('legacy: only the seed routes; the REST paths are unknown routes', async () => {
    expect(await probes('legacy')).toEqual({ legacyView: 200, legacyBackup: 201, restBackups: 404, restTrigger: 404, backupsKept: 1 });
  });

  it('rest: only the REST routes; the seed paths are unknown routes', async () => {
    expect(await probes('rest')).toEqual({ legacyView: 404, legacyBackup: 404, restBackups: 200, restTrigger: 201, backupsKept: 1 });
  });

  it('both (the default): each generation answers', async () => {
    expect(await probes('both')).toEqual({ legacyView: 200, legacyBackup: 201, restBackups: 200, restTrigger: 201, backupsKept: 2 });
  });

  it('an unknown route answers 404 NotFound, not InstanceNotFound: how detection tells a generation is absent', async () => {
    const sim = await startSimulator({ port: 0, api: 'legacy' });
    try {
      const res = await call(sim, 'GET', '/instances/a9s-pg/backups');
      expect(res.json()).toMatchObject({ error: 'NotFound' });
    } finally {
      await sim.close();
    }
  });
});
