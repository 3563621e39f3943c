import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { AgentLog } from './agent-log';
import type { OutageEndEvent, OutageStartEvent, RecordedRequest, SimulatorEventMap } from './events';
import { cannedAnswer, faultHandlesRequest, faultMatches, OUTAGE_503, type CannedAnswer, type Fault, type ScopedFault } from './faults';
import { BodyTooLargeError, checkBasicAuth, parseMaybeJson, readBody } from './http-util';
import { SimulatorModel, type ModelEvent, type SeedBackupOptions, type SeedRestoreOptions, type SimInstanceConfig } from './model';
import { restRoute } from './rest-routes';
import { errorBody, noRoute, route, type RouteContext, type RouteRequest, type RouteResult } from './routes';
import { renderInstance, type BackupOrder, type InstanceJson } from './view';

/**
 * The fake Backup Manager over HTTP: basic auth, the seed's routes, faults, and the a9s-pg
 * restore outage, during which the listener really goes away and comes back on the same port.
 */

export interface SimulatorOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  username?: string;
  password?: string;
  realm?: string;
  /** Instances besides a9s-pg. */
  instances?: string[];
  /** One step of every active task per this many ms; 0 (default) means only `step()` moves them. */
  stepMs?: number;
  /** Steps an a9s-pg restore lasts (default 3). */
  restoreSteps?: number;
  /** 'refuse' (default): nothing listens during an a9s-pg restore; '503': a proxy answers 503. */
  restoreOutage?: 'refuse' | '503';
  /** The backup-agent log (production.log) to append restore lines to. */
  agentLogPath?: string;
  /** Every this many ms each instance gets a scheduled backup, as the manager's cron would do. */
  scheduleEveryMs?: number;
  /** Chance (0..1) that a finishing task fails on its own. */
  failureRate?: number;
  random?: () => number;
  now?: () => Date;
  /** Status of an accepted backup POST: 201 (default) or 200. */
  backupStatusCode?: 200 | 201;
  backupOrder?: BackupOrder;
  /** Which route generation the manager serves: the seed's (`legacy`), the newer `rest`, or `both` (default). */
  api?: SimApi;
}

export const SIM_APIS = ['legacy', 'rest', 'both'] as const;
export type SimApi = (typeof SIM_APIS)[number];

const REDACTED = '[redacted]';
const GRACEFUL_CLOSE_MS = 1000;

export class Simulator {
  readonly events = new EventEmitter<SimulatorEventMap>();
  readonly requests: RecordedRequest[] = [];

  private readonly model: SimulatorModel;
  private readonly agentLog: AgentLog;
  private readonly host: string;
  private readonly username: string;
  private readonly password: string;
  private readonly realm: string;
  private readonly restoreOutage: 'refuse' | '503';
  private readonly now: () => Date;
  private readonly random: () => number;
  private readonly backupStatusCode: number;
  private readonly backupOrder: BackupOrder;
  private readonly api: SimApi;
  private boundPort: number;
  private server: Server | null = null;
  private readonly serverClosed: Promise<void>[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly closingSockets = new WeakSet<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly intervals: NodeJS.Timeout[] = [];
  private fault: Fault | null = null;
  private faultRemaining: number | undefined;
  /** Listener changes run one after another; step() and setFault() resolve when theirs is done. */
  private chain: Promise<void> = Promise.resolve();
  private chainError: Error | null = null;
  private closed = false;
  private closing: Promise<void> | undefined;

  private constructor(options: SimulatorOptions) {
    this.host = options.host ?? '127.0.0.1';
    this.boundPort = options.port ?? 0;
    this.username = options.username ?? 'admin';
    this.password = options.password ?? 'secret';
    this.realm = options.realm ?? 'Application';
    this.restoreOutage = options.restoreOutage ?? 'refuse';
    this.now = options.now ?? (() => new Date());
    this.random = options.random ?? Math.random;
    this.backupStatusCode = options.backupStatusCode ?? 201;
    this.backupOrder = options.backupOrder ?? 'oldest-first';
    this.api = options.api ?? 'both';
    this.agentLog = new AgentLog({
      path: options.agentLogPath,
      now: this.now,
      random: this.random,
      onLine: (line) => this.events.emit('log-line', line),
    });
    this.model = new SimulatorModel({
      now: this.now,
      random: this.random,
      restoreSteps: options.restoreSteps,
      failureRate: options.failureRate,
      onEvent: (e) => this.onModelEvent(e),
    });
    for (const name of options.instances ?? []) this.model.addInstance(name);
  }

  static async start(options: SimulatorOptions = {}): Promise<Simulator> {
    const sim = new Simulator(options);
    await sim.listen(false);
    const stepMs = options.stepMs ?? 0;
    if (stepMs > 0) sim.intervals.push(setInterval(() => sim.runInBackground(sim.step()), stepMs));
    const scheduleMs = options.scheduleEveryMs ?? 0;
    if (scheduleMs > 0) {
      sim.intervals.push(
        setInterval(() => {
          if (sim.model.outage) return;
          for (const name of sim.model.instanceNames()) sim.scheduleBackup(name);
        }, scheduleMs),
      );
    }
    return sim;
  }

  get port(): number {
    return this.boundPort;
  }

  get url(): string {
    const host = this.host.includes(':') ? `[${this.host}]` : this.host;
    return `http://${host}:${this.boundPort}`;
  }

  get agentLogPath(): string | undefined {
    return this.agentLog.path;
  }

  /** True while an a9s-pg restore keeps the manager away. */
  get restoring(): boolean {
    return this.model.outage !== null;
  }

  get listening(): boolean {
    return this.server !== null;
  }

  /** Moves every active task one step; resolves once the listener reflects the new state. */
  step(): Promise<void> {
    this.model.step();
    return this.settled();
  }

  /** Replaces the current fault (null clears it); resolves once it is in effect. */
  setFault(fault: Fault | null): Promise<void> {
    const wasDown = this.fault?.kind === 'down';
    this.fault = fault === null ? null : { ...fault };
    this.faultRemaining = fault !== null && fault.kind !== 'down' ? fault.times : undefined;
    const isDown = this.fault?.kind === 'down';
    this.reconcile(() => {
      if (!wasDown && isDown) this.events.emit('outage-start', { reason: 'fault' });
      if (wasDown && !isDown) this.events.emit('outage-end', { reason: 'fault' });
    });
    return this.settled();
  }

  failNextBackup(instance: string, msg: string): void {
    this.model.failNextBackup(instance, msg);
  }

  failNextRestore(instance: string, msg: string): void {
    this.model.failNextRestore(instance, msg);
  }

  /** A backup started by the manager's own schedule, not through the API. Returns its id. */
  scheduleBackup(instance: string): number {
    return this.model.triggerBackup(instance, 'schedule').id;
  }

  /** Adds history directly. Returns the backup's id. */
  seedBackup(instance: string, options: SeedBackupOptions): number {
    return this.model.seedBackup(instance, options).id;
  }

  /** Adds a finished restore to the history (e.g. one from last month). Returns its id. */
  seedRestore(instance: string, options: SeedRestoreOptions): number {
    return this.model.seedRestore(instance, options).id;
  }

  /** Marks a backup `deleted`, as retention does. */
  deleteBackup(instance: string, id: number): void {
    this.model.deleteBackup(instance, id);
  }

  /** What GET /instances/:guid/config (REST) answers for the instance. */
  setInstanceConfig(instance: string, config: Partial<SimInstanceConfig>): void {
    this.model.setInstanceConfig(instance, config);
  }

  /** Returns the instance's numeric id (the one restores need). */
  addInstance(instance: string): number {
    return this.model.addInstance(instance).id;
  }

  /** The instance view as GET /instances/:guid answers it (without faults); throws if unknown. */
  view(instance: string): InstanceJson {
    const found = this.model.findInstance(instance);
    if (!found) throw new RangeError(`no instance "${instance}"`);
    return renderInstance(found, { order: 'oldest-first' });
  }

  /** Resolves with the next `event` payload for which `predicate` holds. */
  waitFor<K extends keyof SimulatorEventMap>(
    event: K,
    predicate: (...args: SimulatorEventMap[K]) => boolean = () => true,
  ): Promise<SimulatorEventMap[K][0]> {
    return new Promise((resolve) => {
      const emitter = this.events as unknown as EventEmitter;
      const listener = (...args: unknown[]): void => {
        const typed = args as SimulatorEventMap[K];
        if (!predicate(...typed)) return;
        emitter.off(event, listener);
        resolve(typed[0]);
      };
      emitter.on(event, listener);
    });
  }

  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    this.closed = true;
    for (const interval of this.intervals) clearInterval(interval);
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    // Cut first: a pending listener change may be waiting for a connection to close.
    for (const socket of this.sockets) socket.destroy();
    this.reconcile();
    await this.chain;
    await Promise.all(this.serverClosed);
  }

  private onModelEvent(event: ModelEvent): void {
    switch (event.type) {
      case 'transition': {
        const { instance, kind, id, from, to } = event;
        this.events.emit('transition', { instance, kind, id, from, to });
        break;
      }
      case 'agent':
        this.agentLog.restore(event.restoreId, event.phase, event.msg);
        break;
      case 'outage-start': {
        const { instance, restoreId, backupId } = event;
        const payload: OutageStartEvent = { reason: 'restore', instance, restoreId, backupId };
        this.reconcile(() => this.events.emit('outage-start', payload));
        break;
      }
      case 'outage-end': {
        const { instance, restoreId, backupId, outcome, msg, forgotten } = event;
        const payload: OutageEndEvent = { reason: 'restore', instance, restoreId, backupId, outcome, msg, forgotten };
        this.reconcile(() => this.events.emit('outage-end', payload));
        break;
      }
    }
  }

  /** Queues "make the listener match the state", then `after`. */
  private reconcile(after?: () => void): void {
    this.chain = this.chain
      .then(async () => {
        const wanted = !this.closed && this.fault?.kind !== 'down' && !(this.model.outage && this.restoreOutage === 'refuse');
        if (wanted && !this.server) await this.listen(true);
        if (!wanted && this.server) await this.stopListening();
        after?.();
      })
      .catch((err: unknown) => {
        this.chainError = err instanceof Error ? err : new Error(String(err));
      });
  }

  private async settled(): Promise<void> {
    await this.chain;
    const err = this.chainError;
    this.chainError = null;
    if (err) throw err;
  }

  private runInBackground(work: Promise<void>): void {
    work.catch((err: unknown) => {
      if (this.events.listenerCount('error') > 0) this.events.emit('error', err instanceof Error ? err : new Error(String(err)));
    });
  }

  private async listen(again: boolean): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const server = createServer((req, res) => this.onRequest(req, res));
      server.on('connection', (socket: Socket) => {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
      });
      try {
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(this.boundPort, this.host, () => {
            server.off('error', reject);
            resolve();
          });
        });
      } catch (err) {
        // Someone may hold the port for a moment after the outage; it must be the same port.
        const inUse = (err as NodeJS.ErrnoException).code === 'EADDRINUSE';
        if (!again || !inUse || attempt >= 40 || this.closed) throw err;
        await new Promise((resolve) => setTimeout(resolve, 50).unref());
        continue;
      }
      this.boundPort = (server.address() as AddressInfo).port;
      this.server = server;
      return;
    }
  }

  /**
   * Resolves once every connection is gone, so a client that goes on right after `outage-start`
   * (or `setFault({kind:'down'})`) has dropped its kept-alive socket and gets a clean ECONNREFUSED.
   */
  private async stopListening(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    this.serverClosed.push(new Promise((resolve) => server.close(() => resolve())));
    const gone: Promise<void>[] = [];
    for (const socket of this.sockets) {
      gone.push(new Promise((resolve) => socket.once('close', () => resolve())));
      if (this.closingSockets.has(socket)) {
        // The restore's 201 went out with `Connection: close`: Node ends that socket once it is
        // written and the client closes its side, an orderly close instead of a cut.
        const timer = setTimeout(() => socket.destroy(), GRACEFUL_CLOSE_MS);
        this.timers.add(timer);
        socket.once('close', () => {
          clearTimeout(timer);
          this.timers.delete(timer);
        });
      } else {
        socket.destroy();
      }
    }
    await Promise.all(gone);
    // A cut socket is closed here at once, but an in-process client learns of it only in its
    // next poll phase; give it two turns of the loop so it does not reuse a dead socket.
    for (let i = 0; i < 2; i++) await new Promise((resolve) => setImmediate(resolve));
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    this.handle(req, res).catch(() => {
      if (!res.headersSent && !res.destroyed) this.sendJson(res, { status: 500, body: errorBody('InternalServerError', 'The simulator failed.') });
      else res.destroy();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let rawBody: string;
    try {
      rawBody = await readBody(req);
    } catch (err) {
      if (err instanceof BodyTooLargeError) return this.sendJson(res, { status: 413, body: errorBody('PayloadTooLarge', err.message) });
      throw err;
    }
    const url = new URL(req.url ?? '/', 'http://simulator.invalid');
    const method = (req.method ?? 'GET').toUpperCase();
    const authorized = checkBasicAuth(req.headers.authorization, this.username, this.password);
    const headers = { ...req.headers };
    if (headers.authorization !== undefined) headers.authorization = REDACTED;
    const record: RecordedRequest = {
      method,
      path: url.pathname,
      query: url.search,
      headers,
      body: parseMaybeJson(rawBody),
      rawBody,
      authorized,
      at: this.now(),
    };
    this.requests.push(record);
    this.events.emit('request', record);

    if (this.model.outage && this.restoreOutage === '503') return this.sendCanned(res, OUTAGE_503);
    const fault = this.takeFault(method, url.pathname);
    if (fault && !faultHandlesRequest(fault)) return this.answerFault(res, fault);

    const result: RouteResult | null = authorized
      ? this.dispatch(
          {
            model: this.model,
            backupStatusCode: this.backupStatusCode,
            view: {
              order: this.backupOrder,
              random: this.random,
              statusOverride: fault?.kind === 'unknownStatus' ? { status: fault.status, id: fault.id } : undefined,
            },
          },
          { method, path: url.pathname, contentType: req.headers['content-type'], rawBody },
        )
      : null;
    const answer = (): void => {
      if (fault && fault.kind !== 'slow' && fault.kind !== 'unknownStatus') this.answerFault(res, fault);
      else if (result === null) this.sendUnauthorized(res);
      else this.sendJson(res, result);
    };
    if (fault?.kind === 'slow') this.later(fault.delayMs, answer);
    else answer();
  }

  /** Both generations map the same model; a generation not served answers like an unknown path. */
  private dispatch(ctx: RouteContext, req: RouteRequest): RouteResult {
    const rest = this.api === 'legacy' ? null : restRoute(ctx, req);
    if (rest) return rest;
    return this.api === 'rest' ? noRoute(req.method.toUpperCase(), req.path) : route(ctx, req);
  }

  private takeFault(method: string, path: string): ScopedFault | null {
    const fault = this.fault;
    if (!fault || fault.kind === 'down' || !faultMatches(fault, method, path)) return null;
    if (this.faultRemaining !== undefined) {
      this.faultRemaining -= 1;
      if (this.faultRemaining <= 0) this.fault = null;
    }
    return fault;
  }

  private answerFault(res: ServerResponse, fault: ScopedFault): void {
    if (fault.kind === 'reset') {
      res.socket?.destroy();
      return;
    }
    const canned = cannedAnswer(fault);
    if (canned) this.sendCanned(res, canned);
  }

  private later(ms: number, run: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      run();
    }, ms);
    this.timers.add(timer);
  }

  private sendUnauthorized(res: ServerResponse): void {
    // What Rails' http_basic_authenticate_with answers.
    this.sendCanned(res, { status: 401, contentType: 'text/plain; charset=utf-8', body: 'HTTP Basic: Access denied.\n' }, {
      'WWW-Authenticate': `Basic realm="${this.realm}"`,
    });
  }

  private sendJson(res: ServerResponse, result: RouteResult): void {
    const headers: Record<string, string> = {};
    if (result.closeConnection) {
      headers.Connection = 'close';
      if (res.socket) this.closingSockets.add(res.socket);
    }
    this.sendCanned(res, { status: result.status, contentType: 'application/json; charset=utf-8', body: JSON.stringify(result.body) }, headers);
  }

  private sendCanned(res: ServerResponse, answer: CannedAnswer, headers: Record<string, string> = {}): void {
    if (res.destroyed || res.writableEnded) return;
    res.writeHead(answer.status, {
      ...headers,
      'Content-Type': answer.contentType,
      'Content-Length': String(Buffer.byteLength(answer.body)),
    });
    res.end(answer.body);
  }
}

export function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  return Simulator.start(options);
}
