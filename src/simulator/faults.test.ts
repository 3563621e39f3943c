import { InstanceViewSchema, TriggerResponseSchema } from '../ports/backup-manager/schemas';
import { basic, call, connectionError, getInstance, postBackup } from './__tests__/http';
import { startSimulator, type Simulator } from './index';

describe('simulator: faults', () => {
  let sim: Simulator;
  beforeEach(async () => {
    sim = await startSimulator({ port: 0 });
  });
  afterEach(() => sim.close());

  it("'down' refuses connections until cleared, then listens on the same port", async () => {
    const port = sim.port;
    const events: string[] = [];
    sim.events.on('outage-start', (e) => events.push(`start:${e.reason}`));
    sim.events.on('outage-end', (e) => events.push(`end:${e.reason}`));
    await sim.setFault({ kind: 'down' });
    expect(await connectionError(getInstance(sim, 'a9s-pg'))).toBe('ECONNREFUSED');
    await sim.setFault(null);
    expect(sim.port).toBe(port);
    expect((await getInstance(sim, 'a9s-pg')).status).toBe(200);
    expect(events).toEqual(['start:fault', 'end:fault']);
  });

  it("'down' also cuts kept-alive connections", async () => {
    const auth = { authorization: basic('admin:secret') };
    expect((await fetch(`${sim.url}/instances/a9s-pg`, { headers: auth })).status).toBe(200);
    await sim.setFault({ kind: 'down' });
    expect(await connectionError(fetch(`${sim.url}/instances/a9s-pg`, { headers: auth }))).toBe('ECONNREFUSED');
  });

  it("'status' answers that status with a plain body, without handling the request", async () => {
    await sim.setFault({ kind: 'status', status: 503 });
    const res = await postBackup(sim, 'a9s-pg');
    expect(res.status).toBe(503);
    expect(res.text).toBe('503 Service Unavailable\n');
    expect(sim.view('a9s-pg').backups).toEqual([]);
    expect(sim.requests).toHaveLength(1);
  });

  it("'html500' answers 500 with an HTML page", async () => {
    await sim.setFault({ kind: 'html500' });
    const res = await getInstance(sim, 'a9s-pg');
    expect(res.status).toBe(500);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.text).toMatch(/^<!DOCTYPE html>/);
  });

  it("'malformed' answers 200 with JSON that does not parse", async () => {
    await sim.setFault({ kind: 'malformed' });
    const res = await getInstance(sim, 'a9s-pg');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(() => res.json()).toThrow(SyntaxError);
  });

  it("'wrongShape' answers 200 with valid JSON the schemas reject", async () => {
    await sim.setFault({ kind: 'wrongShape' });
    const res = await getInstance(sim, 'a9s-pg');
    expect(res.status).toBe(200);
    expect(InstanceViewSchema.safeParse(res.json()).success).toBe(false);
    expect(TriggerResponseSchema.safeParse(res.json()).success).toBe(false);
  });

  it("'slow' handles the request at once but answers late, so a client times out", async () => {
    await sim.setFault({ kind: 'slow', delayMs: 60_000 });
    const code = await connectionError(postBackup(sim, 'a9s-pg', { headersTimeout: 50 }));
    expect(code).toBe('UND_ERR_HEADERS_TIMEOUT');
    // The ambiguous case: the backup was started although the client saw no answer.
    expect(sim.view('a9s-pg').backups).toHaveLength(1);
    // close() (in afterEach) must not wait for the pending answer.
  });

  it("'slow' answers normally after the delay", async () => {
    await sim.setFault({ kind: 'slow', delayMs: 20 });
    const res = await getInstance(sim, 'a9s-pg');
    expect(InstanceViewSchema.parse(res.json()).instanceGuid).toBe('a9s-pg');
  });

  it("'unknownStatus' makes tasks report an undocumented status", async () => {
    const { id } = TriggerResponseSchema.parse((await postBackup(sim, 'a9s-pg')).json());
    const other = sim.seedBackup('a9s-pg', { status: 'done' });
    await sim.setFault({ kind: 'unknownStatus', status: 'paused', id });
    const view = InstanceViewSchema.parse((await getInstance(sim, 'a9s-pg')).json());
    expect(view.backups.find((b) => b.id === id)?.task).toMatchObject({ status: 'unknown', rawStatus: 'paused' });
    expect(view.backups.find((b) => b.id === other)?.status).toBe('done');
    await sim.setFault({ kind: 'unknownStatus', status: 'paused' });
    const all = InstanceViewSchema.parse((await getInstance(sim, 'a9s-pg')).json());
    expect(all.backups.map((b) => b.status)).toEqual(['unknown', 'unknown']);
  });

  it("'reset' drops the connection without an answer", async () => {
    await sim.setFault({ kind: 'reset' });
    expect(await connectionError(getInstance(sim, 'a9s-pg'))).toMatch(/^(UND_ERR_SOCKET|ECONNRESET)$/);
  });

  it('can be limited to a method and path, and to a number of requests', async () => {
    await sim.setFault({ kind: 'status', status: 502, method: 'GET', path: /^\/instances\//, times: 2 });
    expect((await postBackup(sim, 'a9s-pg')).status).toBe(201);
    expect((await call(sim, 'GET', '/nothing')).status).toBe(404);
    expect((await getInstance(sim, 'a9s-pg')).status).toBe(502);
    expect((await getInstance(sim, 'a9s-pg')).status).toBe(502);
    expect((await getInstance(sim, 'a9s-pg')).status).toBe(200);
  });

  it('with afterProcessing, handles the request for real and only then answers badly', async () => {
    await sim.setFault({ kind: 'status', status: 504, path: '/backup_agent/backup', afterProcessing: true });
    expect((await postBackup(sim, 'a9s-pg')).status).toBe(504);
    expect(sim.view('a9s-pg').backups.map((b) => b.backup_agent_task.status)).toEqual(['queued']);
  });

  it('still answers 401 to wrong credentials under a processing fault', async () => {
    await sim.setFault({ kind: 'slow', delayMs: 1 });
    expect((await getInstance(sim, 'a9s-pg', { auth: 'admin:wrong' })).status).toBe(401);
  });
});
