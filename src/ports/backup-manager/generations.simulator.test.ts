import pino from 'pino';
import { prng } from '../../../test/helpers/prng';
import { startSimulator, type SimApi, type Simulator } from '../../simulator';
import { BackupManagerClient } from './client';
import { NotFoundError, UnavailableError } from '../../domain/manager-errors';
import { GenerationClient, type ApiMode } from './generation';
import type { InstanceView, Restore } from './schemas';

/**
 * Both API generations against the simulator in each SIM_API mode: the same use cases give the
 * same domain results whichever routes carry them, and `auto` finds out (and finds out again)
 * which generation answers.
 */

const PASSWORD = 'gen-Pa55word-xyz';
const TOKEN = Buffer.from(`admin:${PASSWORD}`).toString('base64');
const FIXED_NOW = new Date('2026-03-01T01:30:00.000Z');

let sims: Simulator[];
let clients: GenerationClient[];
let logLines: string[];

beforeEach(() => {
  sims = [];
  clients = [];
  logLines = [];
});

afterEach(async () => {
  for (const c of clients) await c.close();
  for (const s of sims) await s.close();
  const log = logLines.join('');
  expect(log).not.toContain(PASSWORD);
  expect(log).not.toContain(TOKEN);
});

async function simulator(api: SimApi, port = 0): Promise<Simulator> {
  const sim = await startSimulator({ port, api, password: PASSWORD, stepMs: 0, instances: ['svc-1'], now: () => FIXED_NOW, random: prng(7) });
  sims.push(sim);
  return sim;
}

function client(sim: Simulator, mode: ApiMode, timing: { retryDetectionMs?: number; notFoundRedetectMs?: number; clock?: () => number } = {}): GenerationClient {
  const logger = pino({ level: 'trace' }, { write: (line: string) => void logLines.push(line) });
  const core = new BackupManagerClient({ baseUrl: sim.url, username: 'admin', password: PASSWORD, logger, retry: { retries: 1, minDelayMs: 1, maxDelayMs: 2 } });
  const c = new GenerationClient({ mode, core, probeInstance: 'a9s-pg', logger, retryDetectionMs: 0, notFoundRedetectMs: 0, ...timing });
  clients.push(c);
  return c;
}

const backupsOf = (view: InstanceView) =>
  view.backups.map((b) => ({ id: b.id, status: b.status, size: b.size, downloadable: b.downloadable, createdAt: b.task?.createdAt, updatedAt: b.task?.updatedAt }));
const restoresOf = (restores: Restore[]) => restores.map((r) => ({ id: r.id, backupId: r.backupId, status: r.status, createdAt: r.tasks[0]?.createdAt }));

/** Back up a service instance, read it, restore the backup and follow the restore to its end. */
async function useCases(sim: Simulator, api: GenerationClient): Promise<unknown> {
  const trigger = await api.triggerBackup('svc-1');
  await sim.step();
  await sim.step();
  const view = await api.getInstance('svc-1');
  const restore = await api.triggerRestore(trigger.id, view.id, 'svc-1');
  const started = await api.getRestores('svc-1');
  await sim.step();
  await sim.step();
  const ended = await api.getRestores('svc-1');
  const after = await api.getInstance('svc-1');
  if (!started.available || !ended.available) throw new Error('restores not available');
  expect(restoresOf(after.restores)).toEqual(restoresOf(ended.value));
  return {
    triggerId: trigger.id,
    backups: backupsOf(view),
    restoreId: restore.id,
    restoresStarted: restoresOf(started.value),
    restoresEnded: restoresOf(ended.value),
  };
}

const EXPECTED = {
  triggerId: 148,
  backups: [
    { id: 148, status: 'done', size: expect.any(Number) as unknown, downloadable: false, createdAt: FIXED_NOW.toISOString(), updatedAt: FIXED_NOW.toISOString() },
  ],
  restoreId: 12,
  restoresStarted: [{ id: 12, backupId: 148, status: 'queued', createdAt: FIXED_NOW.toISOString() }],
  restoresEnded: [{ id: 12, backupId: 148, status: 'done', createdAt: FIXED_NOW.toISOString() }],
};

describe('the same use cases map to the same domain results in every combination', () => {
  const combinations: Array<[SimApi, ApiMode]> = [
    ['legacy', 'legacy'],
    ['both', 'legacy'],
    ['rest', 'rest'],
    ['both', 'rest'],
    ['legacy', 'auto'],
    ['rest', 'auto'],
    ['both', 'auto'],
  ];
  const results = new Map<string, unknown>();

  it.each(combinations)('SIM_API=%s, BACKUP_MANAGER_API=%s', async (simApi, mode) => {
    const sim = await simulator(simApi);
    const result = await useCases(sim, client(sim, mode));
    expect(result).toEqual(EXPECTED);
    results.set(`${simApi}/${mode}`, result);
  });

  it('including the size the simulator drew (same seed, same model, same answer)', () => {
    expect(results.size).toBe(combinations.length);
    const sizes = new Set([...results.values()].map((r) => JSON.stringify(r)));
    expect(sizes.size).toBe(1);
  });
});

describe('auto: which generation answers', () => {
  it.each([
    ['legacy', 'legacy', { legacy: 'served', rest: 'absent' }],
    ['rest', 'rest', { legacy: 'absent', rest: 'served' }],
    // Both: the legacy view carries the numeric id, backup names and failure messages in one read.
    ['both', 'legacy', { legacy: 'served', rest: 'served' }],
  ] as const)('SIM_API=%s → %s, found with GETs only', async (simApi, expected, verdicts) => {
    const sim = await simulator(simApi);
    const api = client(sim, 'auto');
    expect(api.generation()).toBe('unknown');
    expect(await api.redetect()).toEqual({ api: expected, ...verdicts });
    expect(api.generation()).toBe(expected);
    expect(sim.requests.map((r) => `${r.method} ${r.path}`).sort()).toEqual(['GET /instances/a9s-pg', 'GET /instances/a9s-pg/backups']);
    expect(logLines.join('')).toContain(`Backup Manager API generation: ${expected}`);
  });

  it('a probe of an instance the manager does not know still tells the generation (404 InstanceNotFound vs an unknown route)', async () => {
    const sim = await simulator('rest');
    const logger = pino({ level: 'silent' });
    const core = new BackupManagerClient({ baseUrl: sim.url, username: 'admin', password: PASSWORD, logger });
    const api = new GenerationClient({ mode: 'auto', core, probeInstance: 'not-there', logger });
    clients.push(api);
    expect(await api.redetect()).toEqual({ api: 'rest', legacy: 'absent', rest: 'served' });
  });

  it('with the manager down: unknown, the calls go to the legacy routes as before, and the next call after it is back finds out', async () => {
    const sim = await simulator('rest');
    const api = client(sim, 'auto');
    await sim.setFault({ kind: 'down' });
    expect(await api.redetect()).toEqual({ api: 'unknown', legacy: 'no-answer', rest: 'no-answer' });
    await expect(api.getInstance('svc-1', { retry: false })).rejects.toBeInstanceOf(UnavailableError);
    await sim.setFault(null);
    const view = await api.getInstance('svc-1', { retry: false });
    expect(view.instanceGuid).toBe('svc-1');
    expect(api.generation()).toBe('rest');
  });

  it('the REST config is used whenever the REST routes answer; the legacy routes say it is not available', async () => {
    const sim = await simulator('both');
    sim.setInstanceConfig('svc-1', { excludeFromAutoBackup: true, retentionTimeDays: 30, minBackupCount: 5 });
    const expected = { available: true, value: { retentionDays: 30, minBackupCount: 5, excludedFromScheduledBackups: true, backupType: null } };
    expect(await client(sim, 'auto').getConfig('svc-1')).toEqual(expected);
    expect(await client(sim, 'rest').getConfig('svc-1')).toEqual(expected);
    expect(await client(sim, 'legacy').getConfig('svc-1')).toEqual({ available: false, reason: expect.stringMatching(/legacy/) as unknown });
  });
});

describe('auto: found out again', () => {
  it('after an outage, when another generation came back (the manager was upgraded while it was down)', async () => {
    const before = await simulator('legacy');
    const api = client(before, 'auto');
    expect((await api.getInstance('svc-1')).id).toBe(39);
    expect(api.generation()).toBe('legacy');
    const port = before.port;
    await before.close();
    await expect(api.getInstance('svc-1', { retry: false })).rejects.toBeInstanceOf(UnavailableError);
    expect(api.generation()).toBe('legacy');

    const after = await simulator('rest', port);
    const view = await api.getInstance('svc-1');
    expect(view).toMatchObject({ instanceGuid: 'svc-1', id: 0 });
    expect(api.generation()).toBe('rest');
    expect(after.requests.map((r) => `${r.method} ${r.path}`).slice(0, 2).sort()).toEqual(['GET /instances/a9s-pg', 'GET /instances/a9s-pg/backups']);
    expect(logLines.join('')).toMatch(/"previous":"legacy".*Backup Manager API generation: rest/);
  });

  it('after an outage of the same manager: probed again once, then the calls go on as before', async () => {
    const sim = await simulator('both');
    const api = client(sim, 'auto');
    await api.getInstance('svc-1');
    await sim.setFault({ kind: 'down' });
    await expect(api.getInstance('svc-1', { retry: false })).rejects.toBeInstanceOf(UnavailableError);
    await sim.setFault(null);
    const from = sim.requests.length;
    await api.getInstance('svc-1');
    await api.getInstance('svc-1');
    expect(sim.requests.slice(from).map((r) => `${r.method} ${r.path}`).sort()).toEqual([
      'GET /instances/a9s-pg',
      'GET /instances/a9s-pg/backups',
      'GET /instances/svc-1',
      'GET /instances/svc-1',
    ]);
    expect(api.generation()).toBe('legacy');
  });

  it('when a read meets an unknown route without an outage noticed: found out again and the read repeated once', async () => {
    const before = await simulator('legacy');
    const api = client(before, 'auto');
    await api.getInstance('svc-1');
    const port = before.port;
    await before.close();
    await simulator('rest', port);
    expect((await api.getInstance('svc-1')).instanceGuid).toBe('svc-1');
    expect(api.generation()).toBe('rest');
  });

  it('a backup POST that meets an unknown route is not sent again; the next one goes to the new routes', async () => {
    const before = await simulator('legacy');
    const api = client(before, 'auto');
    await api.getInstance('svc-1');
    const port = before.port;
    await before.close();
    const after = await simulator('rest', port);
    await expect(api.triggerBackup('svc-1')).rejects.toBeInstanceOf(NotFoundError);
    expect(after.requests.filter((r) => r.method === 'POST').map((r) => r.path)).toEqual(['/backup_agent/backup']);
    expect(after.view('svc-1').backups).toEqual([]);
    expect(api.generation()).toBe('rest');
    expect(await api.triggerBackup('svc-1')).toEqual({ id: 148, message: 'job to backup is queued' });
  });
});

describe('auto: probing is bounded', () => {
  const probesIn = (sim: Simulator) => sim.requests.filter((r) => r.path === '/instances/a9s-pg/backups').length;

  it('while the manager answers 503: one detection per retryDetectionMs, a warning only for the first', async () => {
    const sim = await simulator('both');
    let now = 0;
    const api = client(sim, 'auto', { retryDetectionMs: 1000, clock: () => now });
    await sim.setFault({ kind: 'status', status: 503 });
    await expect(api.getInstance('svc-1', { retry: false })).rejects.toBeInstanceOf(UnavailableError);
    await expect(api.getInstance('svc-1', { retry: false })).rejects.toBeInstanceOf(UnavailableError);
    expect(probesIn(sim)).toBe(1);
    now = 1000;
    await expect(api.getInstance('svc-1', { retry: false })).rejects.toBeInstanceOf(UnavailableError);
    expect(probesIn(sim)).toBe(2);
    expect(logLines.filter((l) => l.includes('"level":40') && l.includes('not found out yet'))).toHaveLength(1);
    await sim.setFault(null);
    now = 2000;
    await api.getInstance('svc-1', { retry: false });
    expect([probesIn(sim), api.generation()]).toEqual([3, 'legacy']);
  });

  it('an unknown instance asked for again and again probes once per notFoundRedetectMs', async () => {
    const sim = await simulator('both');
    let now = 0;
    const api = client(sim, 'auto', { notFoundRedetectMs: 60_000, clock: () => now });
    await api.redetect();
    for (let i = 0; i < 3; i++) await expect(api.getInstance('nope')).rejects.toBeInstanceOf(NotFoundError);
    expect(probesIn(sim)).toBe(2);
    now = 60_000;
    await expect(api.getInstance('nope')).rejects.toBeInstanceOf(NotFoundError);
    expect(probesIn(sim)).toBe(3);
  });
});

describe('the adapters across generations', () => {
  it('a fixed generation the manager does not serve answers not found, never a made-up view', async () => {
    const sim = await simulator('rest');
    await expect(client(sim, 'legacy').getInstance('svc-1')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('REST errors of a restore map to the same typed errors as the legacy ones', async () => {
    const sim = await simulator('both');
    const failed = sim.seedBackup('svc-1', { status: 'failed' });
    const done = sim.seedBackup('svc-1', { status: 'done' });
    for (const mode of ['legacy', 'rest'] as const) {
      const api = client(sim, mode);
      await expect(api.triggerRestore(9999, 39, 'svc-1')).rejects.toMatchObject({ kind: 'not_found', status: 404 });
      await expect(api.triggerRestore(failed, 39, 'svc-1')).rejects.toMatchObject({ kind: 'rejected', status: 422 });
    }
    await client(sim, 'rest').triggerRestore(done, 0, 'svc-1');
    for (const mode of ['legacy', 'rest'] as const) {
      await expect(client(sim, mode).triggerRestore(done, 39, 'svc-1')).rejects.toMatchObject({ kind: 'conflict', status: 409 });
    }
  });

  it('a restore prepared over REST (no numeric id) is sent over the legacy routes with the id read by guid', async () => {
    const sim = await simulator('both');
    const done = sim.seedBackup('svc-1', { status: 'done' });
    const prepared = await client(sim, 'rest').getInstance('svc-1');
    expect(prepared.id).toBe(0);
    const res = await client(sim, 'legacy').triggerRestore(done, prepared.id, 'svc-1');
    expect(res.id).toBe(12);
    expect(sim.requests.filter((r) => r.method === 'POST').map((r) => r.body)).toEqual([{ backup_id: done, instance_id: 39 }]);
  });

  it('the REST restore needs the guid: without it nothing is sent', async () => {
    const sim = await simulator('rest');
    const done = sim.seedBackup('svc-1', { status: 'done' });
    await expect(client(sim, 'rest').triggerRestore(done, 39)).rejects.toBeInstanceOf(TypeError);
    expect(sim.requests).toEqual([]);
  });
});
