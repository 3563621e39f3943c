import { ErrorBodySchema, InstanceViewSchema, TriggerResponseSchema } from '../ports/backup-manager/schemas';
import { call, getInstance, postBackup, postRestore } from './__tests__/http';
import { startSimulator, type Simulator } from './index';

describe('simulator: the seed curl flows', () => {
  let sim: Simulator;
  beforeEach(async () => {
    sim = await startSimulator({ port: 0, instances: ['svc-1'] });
  });
  afterEach(() => sim.close());

  it('listens on a free loopback port', () => {
    expect(sim.port).toBeGreaterThan(0);
    expect(sim.url).toBe(`http://127.0.0.1:${sim.port}`);
  });

  it('answers POST /backup_agent/backup like the seed', async () => {
    const res = await postBackup(sim, 'a9s-pg');
    expect(res.status).toBe(201);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.json()).toEqual({ id: 148, message: 'job to backup is queued' });
    expect(TriggerResponseSchema.parse(res.json())).toEqual({ id: 148, message: 'job to backup is queued' });
  });

  it('answers 200 instead of 201 when told to', async () => {
    await sim.close();
    sim = await startSimulator({ port: 0, backupStatusCode: 200 });
    expect((await postBackup(sim, 'a9s-pg')).status).toBe(200);
  });

  it('answers GET /instances/a9s-pg with the seed fields, nesting and key order', async () => {
    const { id } = TriggerResponseSchema.parse((await postBackup(sim, 'a9s-pg')).json());
    const res = await getInstance(sim, 'a9s-pg');
    expect(res.status).toBe(200);
    const body = res.json() as Record<string, unknown>;
    expect(Object.keys(body)).toEqual(['backups', 'restores', 'guid', 'instance_id', 'id']);
    expect(body).toMatchObject({ restores: [], guid: '99a44eaf-a310-4952-97d7-72492f989d0a', instance_id: 'a9s-pg', id: 38 });
    const backups = body.backups as Array<Record<string, unknown>>;
    expect(backups).toHaveLength(1);
    const backup = backups[0] as Record<string, unknown>;
    expect(Object.keys(backup)).toEqual(['backup_agent_task', 'is_downloadable', 'size', 'backup_id', 'instance_id', 'id']);
    const task = backup.backup_agent_task as Record<string, unknown>;
    expect(Object.keys(task)).toEqual(['msg', 'updated_at', 'created_at', 'status', 'task_id', 'id']);
    expect(backup).toMatchObject({ is_downloadable: false, size: null, instance_id: 38, id });
    expect(backup.backup_id).toMatch(/^a9s-pg-\d{13}$/);
    expect(task).toMatchObject({ msg: null, status: 'queued', task_id: id });
    expect(task.id).not.toBe(id);
    expect(new Date(task.created_at as string).toISOString()).toBe(task.created_at);

    const view = InstanceViewSchema.parse(body);
    expect(view).toMatchObject({ id: 38, instanceGuid: 'a9s-pg', restores: [] });
    expect(view.backups[0]).toMatchObject({ id, status: 'queued', size: null, task: { taskId: id } });
  });

  it('also finds an instance by its guid', async () => {
    const res = await getInstance(sim, '99a44eaf-a310-4952-97d7-72492f989d0a');
    expect(InstanceViewSchema.parse(res.json()).instanceGuid).toBe('a9s-pg');
  });

  it('gives every instance distinct increasing ids and a stable uuid guid', async () => {
    const pg = InstanceViewSchema.parse((await getInstance(sim, 'a9s-pg')).json());
    const svc = InstanceViewSchema.parse((await getInstance(sim, 'svc-1')).json());
    expect(svc.id).toBeGreaterThan(pg.id);
    expect(svc.guid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(sim.addInstance('svc-2')).toBe(svc.id + 1);
    expect(sim.addInstance('svc-2')).toBe(svc.id + 1);
  });

  it('records every request with its parsed body and whether it was authorized', async () => {
    const seen: string[] = [];
    sim.events.on('request', (r) => seen.push(`${r.method} ${r.path}`));
    await postBackup(sim, 'a9s-pg');
    await getInstance(sim, 'a9s-pg', { auth: 'admin:wrong' });
    expect(seen).toEqual(['POST /backup_agent/backup', 'GET /instances/a9s-pg']);
    expect(sim.requests).toHaveLength(2);
    expect(sim.requests[0]).toMatchObject({
      method: 'POST',
      path: '/backup_agent/backup',
      body: { instance_guid: 'a9s-pg' },
      rawBody: '{"instance_guid":"a9s-pg"}',
      authorized: true,
    });
    expect(sim.requests[0]?.headers['content-type']).toBe('application/json');
    expect(sim.requests[0]?.headers.authorization).toBe('[redacted]');
    expect(sim.requests[1]).toMatchObject({ method: 'GET', authorized: false, body: undefined });
  });
});

describe('simulator: authentication', () => {
  let sim: Simulator;
  beforeEach(async () => {
    sim = await startSimulator({ port: 0, password: 'pw-1' });
  });
  afterEach(() => sim.close());

  it.each([
    ['a wrong password', 'admin:secret'],
    ['a wrong user', 'root:pw-1'],
    ['no credentials', null],
  ])('answers 401 with a Basic challenge to %s', async (_what, auth) => {
    const res = await getInstance(sim, 'a9s-pg', { auth });
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Basic realm="Application"');
    expect(res.text).toBe('HTTP Basic: Access denied.\n');
    expect(sim.requests.at(-1)?.authorized).toBe(false);
  });

  it('starts nothing for an unauthorized POST', async () => {
    expect((await postBackup(sim, 'a9s-pg', { auth: 'admin:nope' })).status).toBe(401);
    expect(sim.view('a9s-pg').backups).toEqual([]);
  });

  it('accepts the right password', async () => {
    expect((await getInstance(sim, 'a9s-pg', { auth: 'admin:pw-1' })).status).toBe(200);
  });
});

describe('simulator: errors', () => {
  let sim: Simulator;
  beforeEach(async () => {
    sim = await startSimulator({ port: 0 });
  });
  afterEach(() => sim.close());

  const expectError = (res: { status: number; json: () => unknown }, status: number, error: string): void => {
    expect(res.status).toBe(status);
    const body = ErrorBodySchema.parse(res.json());
    expect(body.error).toBe(error);
    expect(body.description).toEqual(expect.any(String));
  };

  it('answers 404 InstanceNotFound for an unknown instance', async () => {
    expectError(await getInstance(sim, 'nope'), 404, 'InstanceNotFound');
    expectError(await postBackup(sim, 'nope'), 404, 'InstanceNotFound');
    expectError(await postRestore(sim, 148, 999), 404, 'InstanceNotFound');
  });

  it('answers 404 for an unknown backup or route', async () => {
    expectError(await postRestore(sim, 999, 38), 404, 'BackupNotFound');
    expectError(await call(sim, 'GET', '/nothing'), 404, 'NotFound');
  });

  it('answers 400 to a body that is not JSON or lacks a field', async () => {
    expectError(await call(sim, 'POST', '/backup_agent/backup', { raw: '{instance_guid: a9s-pg', contentType: 'application/json' }), 400, 'BadRequest');
    expectError(await call(sim, 'POST', '/backup_agent/backup', { body: { instance: 'a9s-pg' } }), 400, 'BadRequest');
    expectError(await call(sim, 'POST', '/backup_agent/restores', { body: { backup_id: '148', instance_id: 38 } }), 400, 'BadRequest');
    expect(sim.view('a9s-pg').backups).toEqual([]);
  });

  it('answers 415 when the body is not sent as JSON', async () => {
    const res = await call(sim, 'POST', '/backup_agent/backup', {
      raw: 'instance_guid=a9s-pg',
      contentType: 'application/x-www-form-urlencoded',
    });
    expectError(res, 415, 'UnsupportedMediaType');
  });

  it('answers 422 BackupNonRestorableState for a deleted or failed backup', async () => {
    const deleted = sim.seedBackup('a9s-pg', { status: 'done' });
    sim.deleteBackup('a9s-pg', deleted);
    const failed = sim.seedBackup('a9s-pg', { status: 'failed', msg: 'disk full' });
    const queued = sim.seedBackup('a9s-pg', { status: 'queued' });
    for (const id of [deleted, failed, queued]) expectError(await postRestore(sim, id, 38), 422, 'BackupNonRestorableState');
    expect(sim.restoring).toBe(false);
  });
});
