import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { z } from 'zod';
import { withPassword } from '../../pg-url';

/**
 * Synchronous calls to PostgreSQL: a worker thread owns one `pg` connection and the calling
 * thread waits (Atomics.wait) for each answer. The store's repositories are synchronous (see
 * sql-db.ts); this keeps them one code for both backends. The price is that the event loop
 * waits for each round trip, so every call has a deadline (`callTimeoutMs`) and the server a
 * `statement_timeout`: a database that stops answering fails the call, it does not freeze the
 * bot. After such a deadline the database counts as unreachable: calls fail at once (no
 * second wait of the event loop, no Slack ack missed behind it) while a fresh worker tries to
 * connect in the background, and go through again as soon as it has.
 */
export interface PgSyncOptions {
  connectionString: string;
  /** From STATE_DB_PASSWORD_FILE; overrides a password in the URL. */
  password?: string;
  /** Longest wait for one call, connecting included (default 5000 ms). */
  callTimeoutMs?: number;
  applicationName?: string;
  /** For the probe interval (tests). */
  clock?: () => number;
}

export const DEFAULT_PG_CALL_TIMEOUT_MS = 5000;
/** While unreachable, a new background connection attempt at most this often. */
export const PG_PROBE_INTERVAL_MS = 1000;

/**
 * flag[1], the worker's connection as the calling thread reads it without waiting: 1 up,
 * 2 down (a connect failed or the connection broke), 0 not tried yet.
 */
const LINK_UP = 1;

/** One server session: a transaction's statements must all run on the session of its BEGIN. */
export interface PgSession {
  incarnation: number;
  session: number;
}

export interface PgResult {
  rows: Array<Record<string, unknown>>;
  rowCount: number;
  session: PgSession;
}

/** A PostgreSQL error passed on from the worker: `code` is the SQLSTATE (23505 unique violation…). */
export class PgCallError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
    this.name = 'PgCallError';
  }
}

const Reply = z.union([
  z.object({ id: z.number(), rows: z.array(z.record(z.string(), z.unknown())), rowCount: z.number(), session: z.number() }),
  z.object({ id: z.number(), error: z.object({ message: z.string(), code: z.string().optional() }) }),
]);

interface WorkerData {
  pgPath: string;
  /** [0]: an answer is waiting on the port; [1]: the connection (see LINK_UP). */
  flag: SharedArrayBuffer;
  port: MessagePort;
  config: { connectionString: string; statementTimeoutMs: number; connectTimeoutMs: number; applicationName: string };
}

/**
 * The worker's whole program. It runs from its source text (Function#toString, eval'd in the
 * worker) so that the same code serves jest (ts-jest) and the built bot: it must use nothing
 * from this module's scope, only what it requires itself.
 */
function workerMain(): void {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { workerData } = require('node:worker_threads') as typeof import('node:worker_threads');
  const data = workerData as WorkerData;
  const pg = require(data.pgPath) as typeof import('pg');
  /* eslint-enable @typescript-eslint/no-require-imports */
  // BIGINT (ids, millisecond times, counts) as numbers: all of ours are far below 2^53.
  pg.types.setTypeParser(20, (v: string) => Number(v));
  const flag = new Int32Array(data.flag);
  // LINK_UP and its counterpart, repeated: this function can not see the module's scope.
  const [UP, DOWN] = [1, 2];
  let client: import('pg').Client | null = null;
  let connecting: Promise<import('pg').Client> | null = null;
  let session = 0;
  const drop = (): void => {
    const c = client;
    client = null;
    Atomics.store(flag, 1, DOWN);
    c?.end().catch(() => undefined);
  };
  const connect = async (): Promise<import('pg').Client> => {
    const c = new pg.Client({
      connectionString: data.config.connectionString,
      statement_timeout: data.config.statementTimeoutMs,
      connectionTimeoutMillis: data.config.connectTimeoutMs,
      application_name: data.config.applicationName,
      keepAlive: true,
    });
    // A broken connection is replaced at the next call; the error itself reaches that call.
    c.on('error', () => {
      if (client === c) drop();
    });
    await c.connect();
    return c;
  };
  // One connection at a time, whether a call or a background probe asked for it.
  const connected = (): Promise<import('pg').Client> => {
    if (client !== null) return Promise.resolve(client);
    connecting ??= connect().then(
      (c) => {
        connecting = null;
        client = c;
        session++;
        Atomics.store(flag, 1, UP);
        return c;
      },
      (err: unknown) => {
        connecting = null;
        Atomics.store(flag, 1, DOWN);
        throw err;
      },
    );
    return connecting;
  };
  data.port.on('message', (m: { probe: true } | { id: number; sql: string; params?: unknown[]; session?: number }) => {
    if ('probe' in m) {
      connected().catch(() => undefined);
      return;
    }
    void (async () => {
      let reply: unknown;
      try {
        // Inside a transaction: never on another session than the one that began it (a
        // reconnect would run the rest of it outside any transaction).
        if (m.session !== undefined && (client === null || m.session !== session)) throw new Error('the connection to the state database was lost during a transaction');
        const c = await connected();
        const r = m.params === undefined ? await c.query(m.sql) : await c.query(m.sql, m.params);
        const last = Array.isArray(r) ? r[r.length - 1] : r;
        reply = { id: m.id, rows: last?.rows ?? [], rowCount: last?.rowCount ?? 0, session };
      } catch (err) {
        const e = err as { message?: string; code?: string };
        // A SQLSTATE says the server answered: the connection is fine. Anything else (reset,
        // timeout, refused) drops it, so the next call starts on a fresh one.
        if (typeof e.code !== 'string' || !/^[0-9A-Z]{5}$/.test(e.code)) drop();
        reply = { id: m.id, error: { message: String(e.message ?? err), ...(typeof e.code === 'string' ? { code: e.code } : {}) } };
      }
      data.port.postMessage(reply);
      Atomics.store(flag, 0, 1);
      Atomics.notify(flag, 0);
    })();
  });
}

export class PgSyncConnection {
  private worker: Worker | undefined;
  private port: MessagePort | undefined;
  private flag: Int32Array | undefined;
  private nextId = 1;
  /** Grows with every new worker: sessions of an ended worker are gone. */
  private incarnation = 0;
  private isClosed = false;
  private readonly callTimeoutMs: number;
  private readonly clock: () => number;
  /** A call ran into its deadline: calls fail at once until a background probe has connected. */
  private unreachable = false;
  private lastProbeAt = -Infinity;

  constructor(private readonly options: PgSyncOptions) {
    this.callTimeoutMs = options.callTimeoutMs ?? DEFAULT_PG_CALL_TIMEOUT_MS;
    this.clock = options.clock ?? Date.now;
  }

  /** Runs one statement (or, without params, a script of several) and waits for its answer. */
  query(sql: string, params?: unknown[], pinned?: PgSession): PgResult {
    if (this.isClosed) throw new PgCallError('the state database connection is closed', undefined);
    if (pinned && pinned.incarnation !== this.incarnation) throw new PgCallError('the connection to the state database was lost during a transaction', undefined);
    if (this.unreachable) this.probe();
    const { port, flag } = this.ensureWorker();
    const id = this.nextId++;
    Atomics.store(flag, 0, 0);
    port.postMessage({ id, sql, ...(params === undefined ? {} : { params }), ...(pinned ? { session: pinned.session } : {}) });
    const waited = Atomics.wait(flag, 0, 0, this.callTimeoutMs);
    if (waited === 'timed-out') {
      // The answer may still come; a fresh worker and connection keep it from being taken
      // for the answer to a later call.
      this.reset();
      this.unreachable = true;
      this.lastProbeAt = -Infinity;
      throw new PgCallError(`the state database did not answer within ${this.callTimeoutMs} ms`, 'TIMEOUT');
    }
    for (;;) {
      const received = receiveMessageOnPort(port);
      if (!received) {
        this.reset();
        throw new PgCallError('the state database worker gave no answer', 'NO_ANSWER');
      }
      const reply = Reply.parse(received.message);
      if (reply.id !== id) continue;
      if ('error' in reply) throw new PgCallError(reply.error.message, reply.error.code);
      return { rows: reply.rows, rowCount: reply.rowCount, session: { incarnation: this.incarnation, session: reply.session } };
    }
  }

  /**
   * While unreachable: goes on (the background probe has connected) or throws at once, first
   * starting a new probe when the last one is older than PG_PROBE_INTERVAL_MS.
   */
  private probe(): void {
    const { port, flag } = this.ensureWorker();
    if (Atomics.load(flag, 1) === LINK_UP) {
      this.unreachable = false;
      return;
    }
    const now = this.clock();
    if (now - this.lastProbeAt >= PG_PROBE_INTERVAL_MS) {
      this.lastProbeAt = now;
      port.postMessage({ probe: true });
    }
    throw new PgCallError(`the state database is unreachable (a call got no answer within ${this.callTimeoutMs} ms); connecting again in the background`, 'UNAVAILABLE');
  }

  get closed(): boolean {
    return this.isClosed;
  }

  close(): void {
    if (this.isClosed) return;
    // Ending the worker closes its socket: the server ends the session and what it held.
    this.isClosed = true;
    this.reset();
  }

  private ensureWorker(): { port: MessagePort; flag: Int32Array } {
    if (this.worker && this.port && this.flag) return { port: this.port, flag: this.flag };
    const shared = new SharedArrayBuffer(8);
    const { port1, port2 } = new MessageChannel();
    const data: WorkerData = {
      pgPath: require.resolve('pg'),
      flag: shared,
      port: port2,
      config: {
        connectionString: withPassword(this.options.connectionString, this.options.password),
        statementTimeoutMs: Math.max(100, this.callTimeoutMs - 100),
        connectTimeoutMs: this.callTimeoutMs,
        applicationName: this.options.applicationName ?? 'pgbackup-bot',
      },
    };
    const worker = new Worker(`(${workerMain.toString()})()`, { eval: true, workerData: data, transferList: [port2] });
    worker.unref();
    // Errors reach the caller through the port; the worker itself has nothing to say.
    worker.on('error', () => this.reset());
    this.worker = worker;
    this.incarnation++;
    this.port = port1;
    this.flag = new Int32Array(shared);
    return { port: port1, flag: this.flag };
  }

  private reset(): void {
    const worker = this.worker;
    this.port?.close();
    this.worker = undefined;
    this.port = undefined;
    this.flag = undefined;
    void worker?.terminate().catch(() => undefined);
  }
}
