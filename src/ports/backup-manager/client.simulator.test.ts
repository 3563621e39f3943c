import pino from 'pino';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../simulator';
import { BackupManagerClient, type BackupManagerClientOptions, type RequestInfo } from './client';
import { ConflictError, CredentialsRejectedError, NotFoundError, RejectedError, UnavailableError } from '../../domain/manager-errors';

/** The client against the simulated Backup Manager: the routes, ids and outage as the seed describes them. */

const PASSWORD = 'sim-Pa55word-xyz';
const TOKEN = Buffer.from(`admin:${PASSWORD}`).toString('base64');

let sim: Simulator;
let client: BackupManagerClient;
let logLines: string[];

async function start(simOptions: SimulatorOptions = {}, clientOptions: Partial<BackupManagerClientOptions> = {}): Promise<void> {
  sim = await startSimulator({ port: 0, password: PASSWORD, stepMs: 0, ...simOptions });
  client = new BackupManagerClient({
    baseUrl: `${sim.url}/`,
    username: 'admin',
    password: PASSWORD,
    logger: pino({ level: 'trace' }, { write: (line: string) => void logLines.push(line) }),
    retry: { retries: 2, minDelayMs: 1, maxDelayMs: 2 },
    ...clientOptions,
  });
}

beforeEach(() => {
  logLines = [];
});

afterEach(async () => {
  await client.close();
  await sim.close();
  const log = logLines.join('');
  expect(log).not.toContain(PASSWORD);
  expect(log).not.toContain(TOKEN);
});

it('a triggered backup moves from queued to done in the instance view', async () => {
  await start();
  const trigger = await client.triggerBackup('a9s-pg');
  expect(trigger).toEqual({ id: 148, message: 'job to backup is queued' });
  expect(sim.requests[0]).toMatchObject({ method: 'POST', path: '/backup_agent/backup', body: { instance_guid: 'a9s-pg' }, authorized: true });

  const statusOf = async () => {
    const view = await client.getInstance('a9s-pg');
    expect(view).toMatchObject({ id: 38, instanceGuid: 'a9s-pg' });
    const backup = view.backups.find((b) => b.id === trigger.id);
    expect(backup?.task?.taskId).toBe(trigger.id);
    return backup?.status;
  };
  expect(await statusOf()).toBe('queued');
  await sim.step();
  expect(await statusOf()).toBe('running');
  await sim.step();
  expect(await statusOf()).toBe('done');
  const done = (await client.getInstance('a9s-pg')).backups.find((b) => b.id === trigger.id);
  expect(done?.size).toEqual(expect.any(Number));
  expect(done?.backupName).toMatch(/^a9s-pg-\d+$/);
});

it('an unknown status word is shown as unknown', async () => {
  await start();
  const { id } = await client.triggerBackup('a9s-pg');
  await sim.setFault({ kind: 'unknownStatus', status: 'paused' });
  const backup = (await client.getInstance('a9s-pg')).backups.find((b) => b.id === id);
  expect(backup?.status).toBe('unknown');
  expect(backup?.task?.rawStatus).toBe('paused');
});

it('a wrong password is rejected as credentials, without echoing it', async () => {
  await start();
  const wrong = new BackupManagerClient({ baseUrl: sim.url, username: 'admin', password: 'not-the-password' });
  try {
    const error = await wrong.getInstance('a9s-pg').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CredentialsRejectedError);
    expect((error as Error).message).not.toContain('not-the-password');
  } finally {
    await wrong.close();
  }
});

it('an unknown instance is not found', async () => {
  await start();
  await expect(client.getInstance('no-such-instance')).rejects.toBeInstanceOf(NotFoundError);
  await expect(client.triggerBackup('no-such-instance')).rejects.toBeInstanceOf(NotFoundError);
});

it('restores a service instance with numeric ids and follows it to done', async () => {
  await start({ instances: ['svc-1'] });
  const backupId = sim.seedBackup('svc-1', { status: 'done' });
  const instanceId = (await client.getInstance('svc-1')).id;

  const restore = await client.triggerRestore(backupId, instanceId);
  expect(restore.id).toEqual(expect.any(Number));
  expect(sim.requests.at(-1)?.body).toEqual({ backup_id: backupId, instance_id: instanceId });

  const restoreStatus = async () => (await client.getInstance('svc-1')).restores.find((r) => r.id === restore.id)?.status;
  expect(await restoreStatus()).toBe('queued');

  const second = await client.triggerRestore(backupId, instanceId).catch((e: unknown) => e);
  expect(second).toBeInstanceOf(ConflictError);
  expect((second as ConflictError).description).toContain('already in progress');

  await sim.step();
  expect(await restoreStatus()).toBe('running');
  await sim.step();
  expect(await restoreStatus()).toBe('done');
});

it('a backup that is not done can not be restored', async () => {
  await start({ instances: ['svc-1'] });
  const backupId = sim.seedBackup('svc-1', { status: 'failed', msg: 'pg_dump failed' });
  const instanceId = (await client.getInstance('svc-1')).id;
  const error = await client.triggerRestore(backupId, instanceId).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(RejectedError);
  expect(error).toMatchObject({ status: 422 });
});

it('a backup POST answered badly after it was processed is not retried', async () => {
  await start();
  await sim.setFault({ kind: 'status', status: 503, method: 'POST', afterProcessing: true, times: 1 });
  await expect(client.triggerBackup('a9s-pg')).rejects.toBeInstanceOf(UnavailableError);
  expect(sim.requests.filter((r) => r.method === 'POST')).toHaveLength(1);
  // The backup exists although the answer said otherwise: the bot must look before retrying.
  expect((await client.getInstance('a9s-pg')).backups).toHaveLength(1);
});

describe.each(['refuse', '503'] as const)('the a9s-pg restore outage (%s)', (mode) => {
  it('makes reads unavailable during the restore and lets them succeed after it', async () => {
    let onFailure: (() => void) | undefined;
    const onRequest = (i: RequestInfo) => {
      if (i.status === 'error' || i.status === 503) onFailure?.();
    };
    await start({ restoreOutage: mode, restoreSteps: 2 }, { retry: { retries: 1_000, minDelayMs: 1, maxDelayMs: 5 }, onRequest });
    const restored = sim.seedBackup('a9s-pg', { status: 'done', createdAt: new Date(Date.now() - 60_000) });
    const { id: instanceId } = await client.getInstance('a9s-pg');
    expect(instanceId).toBe(38);

    const outageStarted = sim.waitFor('outage-start');
    const restore = await client.triggerRestore(restored, instanceId);
    expect(restore.id).toEqual(expect.any(Number));
    await outageStarted;

    const during = await client.getInstance('a9s-pg', { retry: false }).catch((e: unknown) => e);
    expect(during).toBeInstanceOf(UnavailableError);
    expect((during as UnavailableError).code).toMatch(mode === 'refuse' ? /^(ECONNREFUSED|ECONNRESET|UND_ERR_SOCKET)$/ : /^HTTP_503$/);

    // A retrying read started during the outage keeps failing until the restore ends, then succeeds.
    const firstFailure = new Promise<void>((resolve) => {
      onFailure = resolve;
    });
    const reading = client.getInstance('a9s-pg');
    await firstFailure;
    const outageEnded = sim.waitFor('outage-end');
    await sim.step();
    await sim.step();
    await outageEnded;

    const view = await reading;
    expect(view.id).toBe(38);
    // Not stored: the manager's database was replaced by the restore.
    expect(view.restores).toEqual([]);
    expect(view.backups.map((b) => b.id)).toContain(restored);
  });
});
