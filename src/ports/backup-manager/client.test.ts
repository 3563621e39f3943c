import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import pino from 'pino';
import { BackupManagerClient, isRetryable, mapTransportError, type BackupManagerClientOptions, type RequestInfo } from './client';
import {
  BackupManagerError,
  BadResponseError,
  ConflictError,
  CredentialsRejectedError,
  DeadlineError,
  isTlsCode,
  NotFoundError,
  RejectedError,
  UnavailableError,
} from '../../domain/manager-errors';

const USER = 'admin';
const PASSWORD = 'S3cret-Pa55word!';
const TOKEN = Buffer.from(`${USER}:${PASSWORD}`).toString('base64');

/** The instance view exactly as the a9s-pg Backup page shows it. */
const SEED_INSTANCE = `{
  "backups": [
    {
      "backup_agent_task": {
        "msg": null,
        "updated_at": "2018-11-22T04:01:28.853Z",
        "created_at": "2018-11-22T04:00:15.718Z",
        "status": "done",
        "task_id": 148,
        "id": 156
      },
      "is_downloadable": false,
      "size": 44985152,
      "backup_id": "a9s-pg-1542859215559",
      "instance_id": 38,
      "id": 148
    }
  ],
  "restores": [],
  "guid": "99a44eaf-a310-4952-97d7-72492f989d0a",
  "instance_id": "a9s-pg",
  "id": 38
}`;
const SEED_TRIGGER = '{"id": 148,"message":"job to backup is queued"}';

interface Received {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

interface Reply {
  status: number;
  body?: string;
  contentType?: string;
}

type Handler = (req: Received, res: http.ServerResponse, index: number) => void;

interface TestServer {
  url: string;
  received: Received[];
  close(): Promise<void>;
}

const servers: TestServer[] = [];
const clients: BackupManagerClient[] = [];
let logLines: string[] = [];

async function startServer(handler: Handler): Promise<TestServer> {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      received.push(r);
      handler(r, res, received.length - 1);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const s: TestServer = {
    url: `http://127.0.0.1:${port}`,
    received,
    close: async () => {
      server.closeAllConnections();
      if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  servers.push(s);
  return s;
}

function send(res: http.ServerResponse, reply: Reply): void {
  res.writeHead(reply.status, { 'content-type': reply.contentType ?? 'application/json' });
  res.end(reply.body ?? '');
}

/** Answers the replies in turn, repeating the last. */
function serve(...replies: Reply[]): Promise<TestServer> {
  return startServer((_req, res, i) => send(res, replies[Math.min(i, replies.length - 1)] as Reply));
}

function makeClient(url: string, options: Partial<BackupManagerClientOptions> = {}): BackupManagerClient {
  const logger = pino({ level: 'trace' }, { write: (line: string) => void logLines.push(line) });
  const client = new BackupManagerClient({
    baseUrl: url,
    username: USER,
    password: PASSWORD,
    logger,
    retry: { retries: 3, minDelayMs: 1, maxDelayMs: 2 },
    ...options,
  });
  clients.push(client);
  return client;
}

/** Awaits a rejection, checks it is a typed error, and that no credential leaked into it. */
async function failure(promise: Promise<unknown>): Promise<BackupManagerError> {
  const error: unknown = await promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(BackupManagerError);
  const e = error as BackupManagerError;
  for (const text of [e.message, e.description ?? '', e instanceof BadResponseError ? e.bodySnippet : '']) {
    expect(text).not.toContain(PASSWORD);
    expect(text).not.toContain(TOKEN);
  }
  return e;
}

async function closedPort(): Promise<string> {
  const s = await startServer(() => undefined);
  await s.close();
  return s.url;
}

beforeEach(() => {
  logLines = [];
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
  const log = logLines.join('');
  // Every test doubles as a leak check of the log output.
  expect(log).not.toContain(PASSWORD);
  expect(log).not.toContain(TOKEN);
});

describe('getInstance', () => {
  it('parses the seed instance view and sends basic auth in a header only', async () => {
    const server = await serve({ status: 200, body: SEED_INSTANCE });
    const view = await makeClient(server.url).getInstance('a9s-pg');

    expect(view).toMatchObject({ id: 38, instanceGuid: 'a9s-pg', guid: '99a44eaf-a310-4952-97d7-72492f989d0a', restores: [] });
    expect(view.backups).toHaveLength(1);
    expect(view.backups[0]).toMatchObject({
      id: 148,
      backupName: 'a9s-pg-1542859215559',
      instanceId: 38,
      size: 44985152,
      downloadable: false,
      status: 'done',
      task: { id: 156, taskId: 148, status: 'done', msg: null, createdAt: '2018-11-22T04:00:15.718Z' },
    });

    const [req] = server.received;
    expect(req).toMatchObject({ method: 'GET', url: '/instances/a9s-pg' });
    expect(req?.headers.authorization).toBe(`Basic ${TOKEN}`);
    expect(req?.headers.accept).toBe('application/json');
    expect(req?.url).not.toContain(PASSWORD);
  });

  it('keeps a path prefix, drops a trailing slash and encodes the guid', async () => {
    const server = await serve({ status: 200, body: SEED_INSTANCE });
    await makeClient(`${server.url}/manager/`).getInstance('odd/guid name?');
    expect(server.received[0]?.url).toBe('/manager/instances/odd%2Fguid%20name%3F');
  });

  it('maps an unknown status to unknown and keeps the raw word', async () => {
    const body = SEED_INSTANCE.replace('"status": "done"', '"status": "exploding"');
    const server = await serve({ status: 200, body });
    const view = await makeClient(server.url).getInstance('a9s-pg');
    expect(view.backups[0]?.status).toBe('unknown');
    expect(view.backups[0]?.task?.rawStatus).toBe('exploding');
  });

  it('ignores extra fields and tolerates nulls', async () => {
    const body = JSON.stringify({
      id: 38,
      instance_id: 'a9s-pg',
      guid: null,
      plan: 'big',
      restores: null,
      backups: [
        {
          id: 149,
          backup_id: null,
          instance_id: 38,
          size: null,
          is_downloadable: null,
          storage: { kind: 's3' },
          backup_agent_task: { msg: null, updated_at: null, created_at: null, status: 'queued', task_id: 149, id: null, extra: 1 },
        },
      ],
    });
    const server = await serve({ status: 200, body });
    const view = await makeClient(server.url).getInstance('a9s-pg');
    expect(view).toMatchObject({ id: 38, guid: null, restores: [] });
    expect(view.backups[0]).toMatchObject({ id: 149, backupName: null, size: null, downloadable: false, status: 'queued' });
  });

  it('retries 503 twice, then succeeds', async () => {
    const server = await serve({ status: 503, body: 'Service Unavailable', contentType: 'text/plain' }, { status: 503 }, { status: 200, body: SEED_INSTANCE });
    const seen: RequestInfo[] = [];
    const view = await makeClient(server.url, { onRequest: (i) => seen.push(i) }).getInstance('a9s-pg');
    expect(view.id).toBe(38);
    expect(server.received).toHaveLength(3);
    expect(seen.map((i) => [i.method, i.route, i.status])).toEqual([
      ['GET', '/instances/:guid', 503],
      ['GET', '/instances/:guid', 503],
      ['GET', '/instances/:guid', 200],
    ]);
    for (const i of seen) expect(i.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('gives up after the configured retries', async () => {
    const server = await serve({ status: 503 });
    const error = await failure(makeClient(server.url, { retry: { retries: 2, minDelayMs: 1, maxDelayMs: 1 } }).getInstance('a9s-pg'));
    expect(error).toBeInstanceOf(UnavailableError);
    expect(server.received).toHaveLength(3);
  });

  it('does not retry when asked not to', async () => {
    const server = await serve({ status: 503 });
    await failure(makeClient(server.url).getInstance('a9s-pg', { retry: false }));
    expect(server.received).toHaveLength(1);
  });

  it.each([
    [404, NotFoundError],
    [401, CredentialsRejectedError],
    [500, BadResponseError],
  ])('does not retry a %i', async (status, type) => {
    const server = await serve({ status, body: '{}' });
    expect(await failure(makeClient(server.url).getInstance('a9s-pg'))).toBeInstanceOf(type);
    expect(server.received).toHaveLength(1);
  });

  it('retries a refused connection, reporting each attempt as an error', async () => {
    const seen: RequestInfo[] = [];
    const error = await failure(makeClient(await closedPort(), { onRequest: (i) => seen.push(i) }).getInstance('a9s-pg'));
    expect(error).toBeInstanceOf(UnavailableError);
    expect(seen.map((i) => i.status)).toEqual(['error', 'error', 'error', 'error']);
  });

  it('an abort stops the wait between retries', async () => {
    const server = await serve({ status: 503 });
    const controller = new AbortController();
    const reason = new Error('user cancelled');
    const client = makeClient(server.url, {
      retry: { retries: 5, minDelayMs: 60_000, maxDelayMs: 60_000 },
      // A wait that outlasts the deadline is not taken at all: give this one room.
      timeouts: { deadline: 120_000 },
      // Abort once the client is waiting for the next attempt, not during the first.
      onRequest: () => setImmediate(() => controller.abort(reason)),
    });
    await expect(client.getInstance('a9s-pg', { signal: controller.signal })).rejects.toBe(reason);
    expect(server.received).toHaveLength(1);
  });

  it('an abort cancels a request in flight', async () => {
    const server = await startServer(() => {
      controller.abort(reason);
    });
    const controller = new AbortController();
    const reason = new Error('user cancelled');
    await expect(makeClient(server.url).getInstance('a9s-pg', { signal: controller.signal })).rejects.toBe(reason);
  });

  it('an already aborted signal sends nothing', async () => {
    const server = await serve({ status: 200, body: SEED_INSTANCE });
    const controller = new AbortController();
    controller.abort(new Error('too late'));
    await expect(makeClient(server.url).getInstance('a9s-pg', { signal: controller.signal })).rejects.toThrow('too late');
    expect(server.received).toHaveLength(0);
  });

  it('close() ends a read waiting to retry', async () => {
    const server = await serve({ status: 503 });
    let client: BackupManagerClient | undefined;
    client = makeClient(server.url, {
      retry: { retries: 5, minDelayMs: 60_000, maxDelayMs: 60_000 },
      // A wait that outlasts the deadline is not taken at all: give this one room.
      timeouts: { deadline: 120_000 },
      onRequest: () => setImmediate(() => void client?.close()),
    });
    const error = await failure(client.getInstance('a9s-pg'));
    expect(error).toMatchObject({ kind: 'unavailable', code: 'CLIENT_CLOSED' });
    expect(server.received).toHaveLength(1);
    // Calls after close fail the same way, without touching the network.
    expect(await failure(client.triggerBackup('a9s-pg'))).toMatchObject({ code: 'CLIENT_CLOSED' });
    client = undefined;
  });
});

/** Answers 200 and then drips one byte every `everyMs` and never ends the body. */
function dripServer(everyMs: number): Promise<TestServer> {
  return startServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{');
    const timer = setInterval(() => res.write(' '), everyMs);
    res.on('close', () => clearInterval(timer));
  });
}

/** Milliseconds `promise` took to settle, and its rejection. */
async function timedFailure(promise: Promise<unknown>): Promise<{ ms: number; error: BackupManagerError }> {
  const started = Date.now();
  const error = await failure(promise);
  return { ms: Date.now() - started, error };
}

describe('deadlines', () => {
  // The idle timeouts (10 s) never fire on a drip or within these tests: only the deadlines can end them.
  it('a body dripped a byte at a time ends each attempt at the request timeout and the read at its deadline', async () => {
    const server = await dripServer(50);
    const client = makeClient(server.url, { timeouts: { requestTimeout: 300, deadline: 800 } });
    const { ms, error } = await timedFailure(client.getInstance('a9s-pg'));
    expect(error).toBeInstanceOf(DeadlineError);
    expect(error).toMatchObject({ kind: 'unavailable', code: 'DEADLINE', deadlineMs: 800 });
    expect(error.message).toBe('Backup Manager did not answer within 0.8 s');
    expect(ms).toBeGreaterThanOrEqual(750);
    expect(ms).toBeLessThan(2_000);
    // The request timeout is worth a retry; the deadline ends them.
    expect(server.received.length).toBeGreaterThanOrEqual(2);
    expect(logLines.join('')).toContain('REQUEST_TIMEOUT');
  });

  it('a single attempt that drips ends at the request timeout', async () => {
    const server = await dripServer(50);
    const { ms, error } = await timedFailure(makeClient(server.url, { timeouts: { requestTimeout: 300 } }).getInstance('a9s-pg', { retry: false }));
    expect(error).toMatchObject({ kind: 'unavailable', code: 'REQUEST_TIMEOUT' });
    expect(isRetryable(error)).toBe(true);
    expect(ms).toBeLessThan(1_500);
  });

  it('a manager that never answers is given up at the deadline', async () => {
    const server = await startServer(() => undefined);
    const { ms, error } = await timedFailure(makeClient(server.url, { timeouts: { deadline: 500 } }).getInstance('a9s-pg'));
    expect(error).toMatchObject({ code: 'DEADLINE' });
    expect(ms).toBeLessThan(1_500);
    expect(server.received).toHaveLength(1);
  });

  it('a backup POST that drips is sent once and ends at the deadline (ambiguous, never retried)', async () => {
    const server = await dripServer(50);
    const { ms, error } = await timedFailure(makeClient(server.url, { timeouts: { deadline: 500 } }).triggerBackup('a9s-pg'));
    expect(error).toMatchObject({ kind: 'unavailable', code: 'DEADLINE' });
    expect(ms).toBeLessThan(1_500);
    expect(server.received).toHaveLength(1);
  });

  it("a caller's signal (a command's budget) ends a POST sooner, with its reason", async () => {
    const server = await startServer(() => undefined);
    const reason = new DeadlineError(200);
    const controller = new AbortController();
    setTimeout(() => controller.abort(reason), 200);
    await expect(makeClient(server.url).triggerRestore(148, 38, undefined, { signal: controller.signal })).rejects.toBe(reason);
    expect(server.received).toHaveLength(1);
  });

  it('a wait for a retry that would outlast the deadline is not taken: the last answer is reported at once', async () => {
    const server = await serve({ status: 503, body: '503 Service Unavailable\n', contentType: 'text/plain' });
    const client = makeClient(server.url, { retry: { retries: 5, minDelayMs: 5_000, maxDelayMs: 5_000 }, timeouts: { deadline: 2_000 } });
    const { ms, error } = await timedFailure(client.getInstance('a9s-pg'));
    expect(error).toMatchObject({ code: 'HTTP_503', status: 503 });
    expect(ms).toBeLessThan(1_000);
    expect(server.received).toHaveLength(1);
  });
});

describe('triggerBackup', () => {
  it('posts the instance guid as JSON and parses the seed answer', async () => {
    const server = await serve({ status: 200, body: SEED_TRIGGER });
    const result = await makeClient(server.url).triggerBackup('a9s-pg');
    expect(result).toEqual({ id: 148, message: 'job to backup is queued' });
    const [req] = server.received;
    expect(req).toMatchObject({ method: 'POST', url: '/backup_agent/backup' });
    expect(req?.headers['content-type']).toBe('application/json');
    expect(req?.headers.authorization).toBe(`Basic ${TOKEN}`);
    expect(JSON.parse(req?.body ?? '')).toEqual({ instance_guid: 'a9s-pg' });
  });

  it('is not retried on 503', async () => {
    const server = await serve({ status: 503 }, { status: 200, body: SEED_TRIGGER });
    const error = await failure(makeClient(server.url).triggerBackup('a9s-pg'));
    expect(error).toMatchObject({ kind: 'unavailable', status: 503, code: 'HTTP_503' });
    expect(server.received).toHaveLength(1);
  });

  it('is not retried on a timeout', async () => {
    const server = await startServer(() => undefined);
    const error = await failure(makeClient(server.url, { timeouts: { headersTimeout: 100 } }).triggerBackup('a9s-pg'));
    expect(error).toMatchObject({ kind: 'unavailable', code: 'UND_ERR_HEADERS_TIMEOUT' });
    expect(error.message).toBe('Backup Manager did not answer in time (UND_ERR_HEADERS_TIMEOUT)');
    expect(server.received).toHaveLength(1);
  });

  it('rejects an answer without an id', async () => {
    const server = await serve({ status: 200, body: '{"message":"queued"}' });
    const error = await failure(makeClient(server.url).triggerBackup('a9s-pg'));
    expect(error).toBeInstanceOf(BadResponseError);
  });

  it('refuses an empty guid before sending anything', async () => {
    const server = await serve({ status: 200, body: SEED_TRIGGER });
    await expect(makeClient(server.url).triggerBackup('  ')).rejects.toThrow(TypeError);
    expect(server.received).toHaveLength(0);
  });
});

describe('triggerRestore', () => {
  it('posts numeric ids', async () => {
    const server = await serve({ status: 201, body: '{"id": 12, "message": "job to restore is queued"}' });
    const result = await makeClient(server.url).triggerRestore(148, 38);
    expect(result).toEqual({ id: 12, message: 'job to restore is queued' });
    const [req] = server.received;
    expect(req).toMatchObject({ method: 'POST', url: '/backup_agent/restores' });
    expect(req?.body).toBe('{"backup_id":148,"instance_id":38}');
  });

  it.each([
    ['an empty 204', { status: 204 }],
    ['a text body', { status: 200, body: 'OK', contentType: 'text/plain' }],
    ['a JSON array', { status: 202, body: '[]' }],
  ])('accepts %s: the restore has started', async (_name, reply: Reply) => {
    const server = await serve(reply);
    expect(await makeClient(server.url).triggerRestore(148, 38)).toEqual({ id: null, message: null });
  });

  it('surfaces the description of a 409', async () => {
    const server = await serve({ status: 409, body: '{"error":"RestoreInProgress","description":"A restore is already in progress"}' });
    const error = await failure(makeClient(server.url).triggerRestore(148, 38));
    expect(error).toBeInstanceOf(ConflictError);
    expect(error).toMatchObject({ status: 409, description: 'A restore is already in progress' });
    expect(error.message).toBe(
      'Backup Manager refused to restore backup 148 to instance 38 because of a conflict (HTTP 409): A restore is already in progress',
    );
  });

  it('is not retried on 503', async () => {
    const server = await serve({ status: 503 });
    await failure(makeClient(server.url).triggerRestore(148, 38));
    expect(server.received).toHaveLength(1);
  });

  it('refuses ids that are not positive integers', async () => {
    const client = makeClient(await closedPort());
    await expect(client.triggerRestore(Number.NaN, 38)).rejects.toThrow('backupId must be a positive integer');
    await expect(client.triggerRestore(148, 3.5)).rejects.toThrow('instanceId must be a positive integer');
  });
});

describe('error mapping', () => {
  it.each([
    [401, CredentialsRejectedError, 'Backup Manager rejected the credentials (HTTP 401)'],
    [403, CredentialsRejectedError, 'Backup Manager rejected the credentials (HTTP 403)'],
    [404, NotFoundError, 'Backup Manager has no instance "a9s-pg" (HTTP 404)'],
    [410, NotFoundError, 'Backup Manager has no instance "a9s-pg" (HTTP 410)'],
    [423, ConflictError, 'Backup Manager refused to read instance "a9s-pg" because of a conflict (HTTP 423)'],
    [422, RejectedError, 'Backup Manager rejected the request to read instance "a9s-pg" (HTTP 422)'],
    [502, UnavailableError, 'Backup Manager unavailable (HTTP 502)'],
    [503, UnavailableError, 'Backup Manager unavailable (HTTP 503)'],
    [504, UnavailableError, 'Backup Manager unavailable (HTTP 504)'],
    [501, BadResponseError, 'Backup Manager gave an unexpected answer to read instance "a9s-pg" (HTTP 501)'],
    [302, BadResponseError, 'Backup Manager gave an unexpected answer to read instance "a9s-pg" (HTTP 302)'],
  ])('HTTP %i → %p', async (status, type, message) => {
    const server = await serve({ status, body: '' });
    const error = await failure(makeClient(server.url).getInstance('a9s-pg', { retry: false }));
    expect(error).toBeInstanceOf(type);
    expect(error.status).toBe(status);
    expect(error.message).toBe(message);
    expect(error.description).toBeUndefined();
  });

  it('uses the description of a JSON 404 body', async () => {
    const server = await serve({ status: 404, body: '{"error":"InstanceNotFound","description":"Instance nope not found"}' });
    const error = await failure(makeClient(server.url).getInstance('nope'));
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error.description).toBe('Instance nope not found');
    expect(error.message).toBe('Backup Manager has no instance "nope" (HTTP 404): Instance nope not found');
  });

  it('falls back to the error word when there is no description', async () => {
    const server = await serve({ status: 422, body: '{"error":"BackupNonRestorableState"}' });
    const error = await failure(makeClient(server.url).triggerRestore(148, 38));
    expect(error).toBeInstanceOf(RejectedError);
    expect(error.description).toBe('BackupNonRestorableState');
  });

  it('uses a short plain-text error body as the description', async () => {
    const server = await serve({ status: 404, body: 'Not Found', contentType: 'text/plain' });
    expect((await failure(makeClient(server.url).getInstance('x'))).description).toBe('Not Found');
  });

  it('turns an HTML 500 into a bad response with a truncated snippet', async () => {
    const html = `<!DOCTYPE html>\n<html><head><title>We're sorry</title></head><body>${'x'.repeat(2_000)}</body></html>`;
    const server = await serve({ status: 500, body: html, contentType: 'text/html' });
    const error = await failure(makeClient(server.url).getInstance('a9s-pg'));
    expect(error).toBeInstanceOf(BadResponseError);
    const bad = error as BadResponseError;
    expect(bad.status).toBe(500);
    expect(bad.description).toBeUndefined();
    expect(bad.bodySnippet.startsWith('<!DOCTYPE html> <html><head>')).toBe(true);
    expect(bad.bodySnippet.length).toBeLessThanOrEqual(301);
    expect(bad.message).not.toContain('<html');
  });

  it('turns malformed JSON into a bad response', async () => {
    const server = await serve({ status: 200, body: '{"backups": [' });
    const error = await failure(makeClient(server.url).getInstance('a9s-pg'));
    expect(error).toBeInstanceOf(BadResponseError);
    expect(error.message).toBe('Backup Manager gave an unexpected answer to read instance "a9s-pg" (HTTP 200, body is not JSON)');
    expect((error as BadResponseError).bodySnippet).toBe('{"backups": [');
  });

  it('turns JSON of the wrong shape into a bad response and logs the issues', async () => {
    const server = await serve({ status: 200, body: '{"id":"38","backups":"none"}' });
    const error = await failure(makeClient(server.url).getInstance('a9s-pg'));
    expect(error).toBeInstanceOf(BadResponseError);
    expect(error.message).toContain('unexpected JSON shape');
    expect(logLines.join('')).toContain('"issues":["id:');
  });

  it('turns an empty 200 into a bad response', async () => {
    const server = await serve({ status: 200, body: '' });
    expect((await failure(makeClient(server.url).getInstance('a9s-pg'))).message).toContain('empty body');
  });

  it('maps a refused connection to unavailable', async () => {
    const error = await failure(makeClient(await closedPort()).triggerBackup('a9s-pg'));
    expect(error).toBeInstanceOf(UnavailableError);
    expect(error).toMatchObject({ code: 'ECONNREFUSED', status: undefined });
    expect(error.message).toBe('Backup Manager unreachable (ECONNREFUSED)');
  });

  // undici checks headers/body timeouts on a coarse (about 1 s) timer, so these take a second.
  it('maps a server that never answers to a headers timeout', async () => {
    const server = await startServer(() => undefined);
    const error = await failure(makeClient(server.url, { timeouts: { headersTimeout: 100 } }).getInstance('a9s-pg', { retry: false }));
    expect(error).toMatchObject({ kind: 'unavailable', code: 'UND_ERR_HEADERS_TIMEOUT' });
  });

  it('maps a body that stalls to a body timeout', async () => {
    const server = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"backups": [');
    });
    const error = await failure(makeClient(server.url, { timeouts: { bodyTimeout: 100 } }).getInstance('a9s-pg', { retry: false }));
    expect(error).toMatchObject({ kind: 'unavailable', code: 'UND_ERR_BODY_TIMEOUT' });
  });

  it('maps a connection dropped mid-request to unavailable', async () => {
    const server = await startServer((_req, res) => res.socket?.destroy());
    const error = await failure(makeClient(server.url).triggerBackup('a9s-pg'));
    expect(error).toMatchObject({ kind: 'unavailable', code: 'UND_ERR_SOCKET' });
    expect(server.received).toHaveLength(1);
  });

  it('scrubs credentials a broken proxy echoes into its body', async () => {
    const server = await startServer((req, res) =>
      send(res, { status: 500, contentType: 'text/plain', body: `bad gateway config; got ${req.headers.authorization}; pw=${PASSWORD}` }),
    );
    const error = (await failure(makeClient(server.url).getInstance('a9s-pg'))) as BadResponseError;
    expect(error.bodySnippet).toContain('[REDACTED]');
    expect(error.description).toContain('[REDACTED]');
  });
});

describe('logging and metrics', () => {
  it('logs route, status and duration, never credentials', async () => {
    const server = await serve({ status: 401, body: '{"error":"Unauthorized","description":"Bad credentials"}' }, { status: 200, body: SEED_INSTANCE });
    const client = makeClient(server.url);
    await failure(client.triggerBackup('a9s-pg'));
    await client.getInstance('a9s-pg');
    const entries = logLines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(entries).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ route: '/backup_agent/backup', method: 'POST', status: 401, durationMs: expect.any(Number) }),
        expect.objectContaining({ level: 40, route: '/backup_agent/backup', kind: 'credentials', msg: 'Backup Manager rejected the credentials (HTTP 401)' }),
        expect.objectContaining({ route: '/instances/:guid', method: 'GET', status: 200, durationMs: expect.any(Number) }),
      ]),
    );
    // Leak checks of the whole output run in afterEach.
  });

  it('a throwing onRequest hook does not fail the request', async () => {
    const server = await serve({ status: 200, body: SEED_INSTANCE });
    const client = makeClient(server.url, {
      onRequest: () => {
        throw new Error('metrics down');
      },
    });
    await expect(client.getInstance('a9s-pg')).resolves.toMatchObject({ id: 38 });
  });
});

describe('construction and transport mapping', () => {
  it('refuses credentials in the base URL without echoing them', () => {
    expect(() => new BackupManagerClient({ baseUrl: `http://admin:${PASSWORD}@bm:3000`, username: USER, password: PASSWORD })).toThrow(
      'Backup Manager base URL must not carry credentials; pass username and password',
    );
    let message = '';
    try {
      new BackupManagerClient({ baseUrl: `not a url ${PASSWORD}`, username: USER, password: PASSWORD });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toBe('Backup Manager base URL is not a valid URL');
  });

  describe('an HTTPS manager behind a private CA', () => {
    const tls = (name: string): string => readFileSync(join(__dirname, '../../../test/fixtures/tls', name), 'utf8');
    let httpsUrl = '';
    let requests = 0;
    let server: https.Server | undefined;

    beforeEach(async () => {
      requests = 0;
      server = https.createServer({ cert: tls('server.pem'), key: tls('server-key.pem') }, (_req, res) => {
        requests++;
        send(res, { status: 200, body: SEED_INSTANCE });
      });
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      httpsUrl = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });

    afterEach(async () => {
      server?.closeAllConnections();
      await new Promise<void>((resolve) => server?.close(() => resolve()));
    });

    it('reads through the CA bundle it is given', async () => {
      const view = await makeClient(httpsUrl, { ca: tls('ca.pem') }).getInstance('a9s-pg', { retry: false });
      expect(view).toMatchObject({ id: 38, guid: '99a44eaf-a310-4952-97d7-72492f989d0a' });
      expect(requests).toBe(1);
    });

    it.each([
      ['an unrelated CA', tls('other-ca.pem')],
      ['no CA bundle (the system store does not know the private CA)', undefined],
    ])('refuses the certificate with %s, says it is a TLS problem, and does not retry', async (_name, ca) => {
      const error = await failure(makeClient(httpsUrl, ca === undefined ? {} : { ca }).getInstance('a9s-pg'));
      expect(error).toBeInstanceOf(UnavailableError);
      const code = (error as UnavailableError).code;
      expect(isTlsCode(code)).toBe(true);
      expect(error.message).toBe(`Backup Manager's TLS certificate was not accepted (${code}); check BACKUP_MANAGER_CA_FILE`);
      expect(isRetryable(error)).toBe(false);
      expect(requests).toBe(0);
    });
  });

  it.each([
    [{ code: 'ENOTFOUND' }, 'unavailable', 'ENOTFOUND', true],
    [{ code: 'EAI_AGAIN' }, 'unavailable', 'EAI_AGAIN', true],
    [{ code: 'ECONNRESET' }, 'unavailable', 'ECONNRESET', true],
    [{ code: 'UND_ERR_CONNECT_TIMEOUT' }, 'unavailable', 'UND_ERR_CONNECT_TIMEOUT', true],
    [{ errors: [{ code: 'ECONNREFUSED' }, { code: 'EHOSTUNREACH' }] }, 'unavailable', 'ECONNREFUSED', true],
    [{ cause: { code: 'ECONNRESET' } }, 'unavailable', 'ECONNRESET', true],
    [{ code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' }, 'unavailable', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', false],
    [{ code: 'ERR_TLS_CERT_ALTNAME_INVALID' }, 'unavailable', 'ERR_TLS_CERT_ALTNAME_INVALID', false],
    [{ code: 'UND_ERR_DESTROYED' }, 'unavailable', 'CLIENT_CLOSED', false],
    [new Error('mystery'), 'unavailable', 'UNKNOWN', false],
    [{ code: 'HPE_INVALID_CONSTANT' }, 'bad_response', undefined, false],
  ])('%p → %s %s (retried: %p)', (input, kind, code, retried) => {
    const error = mapTransportError(input);
    expect(error.kind).toBe(kind);
    if (code !== undefined) expect(error).toMatchObject({ code });
    expect(isRetryable(error)).toBe(retried);
  });
});
