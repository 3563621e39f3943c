import { setMaxListeners } from 'node:events';
import { performance } from 'node:perf_hooks';
import pino, { type Logger } from 'pino';
import { Pool } from 'undici';
import type { z } from 'zod';
import type { BackupManagerApi } from './api';
import {
  BackupManagerError,
  BadResponseError,
  ConflictError,
  CredentialsRejectedError,
  DeadlineError,
  formatMs,
  isTlsCode,
  NotFoundError,
  RejectedError,
  UnavailableError,
} from '../../domain/manager-errors';
import { DEFAULT_DEADLINE_MS, startBudget, timeoutSignal } from './deadline';
import { DEFAULT_RETRY_POLICY, linkSignals, retryWithBackoff, type RetryPolicy } from './retry';
import {
  ErrorBodySchema,
  InstanceViewSchema,
  RestoreResponseSchema,
  TriggerResponseSchema,
  type InstanceView,
  type RestoreResponse,
  type TriggerResponse,
} from './schemas';

export interface BackupManagerTimeouts {
  /** TCP (and TLS) connect. */
  connectTimeout?: number;
  /** From sending the request to the end of the response headers. */
  headersTimeout?: number;
  /** Longest silence between two chunks of the response body. */
  bodyTimeout?: number;
  /** How long an idle pooled connection is kept (the server's keep-alive hint may shorten it). */
  keepAliveTimeout?: number;
  /**
   * One attempt from start to the last byte of the body. The idle timeouts above never fire
   * on a manager that drips a byte every few seconds; this does.
   */
  requestTimeout?: number;
  /** One call, every attempt and wait between them included: what the person waits at most. */
  deadline?: number;
}

export const DEFAULT_TIMEOUTS: Required<BackupManagerTimeouts> = {
  connectTimeout: 5_000,
  headersTimeout: 10_000,
  bodyTimeout: 10_000,
  keepAliveTimeout: 4_000,
  requestTimeout: 10_000,
  deadline: DEFAULT_DEADLINE_MS,
};

/** One HTTP exchange, for metrics: `route` is templated so label cardinality stays bounded. */
export interface RequestInfo {
  route: string;
  method: string;
  status: number | 'error';
  durationMs: number;
}

export interface BackupManagerClientOptions {
  /** e.g. https://backup-manager.service.dc1.consul:3000, optionally with a path prefix. Must not carry credentials. */
  baseUrl: string;
  username: string;
  password: string;
  /** PEM CA bundle (the contents of BACKUP_MANAGER_CA_FILE) for HTTPS managers. */
  ca?: string;
  timeouts?: BackupManagerTimeouts;
  /** Backoff of reads while the manager is unavailable. */
  retry?: Partial<RetryPolicy>;
  logger?: Logger;
  onRequest?: (info: RequestInfo) => void;
}

/** A body larger than this is not a Backup Manager answer the bot can use. */
const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;
const SNIPPET_CHARS = 300;
const DESCRIPTION_CHARS = 300;

/** Network failures a later attempt can plausibly get past. */
const TRANSIENT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'EPIPE',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'REQUEST_TIMEOUT',
]);
const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT', 'REQUEST_TIMEOUT']);
/** The server answered, but not in HTTP/1.1 the bot can read. */
const MALFORMED_RESPONSE_CODES = new Set(['UND_ERR_RES_EXCEEDED_MAX_SIZE', 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH', 'UND_ERR_HEADERS_OVERFLOW']);
const CLOSED_CODES = new Set(['UND_ERR_CLOSED', 'UND_ERR_DESTROYED', 'CLIENT_CLOSED']);

/**
 * Whether a failed read is worth another attempt: an outage answer (502/503/504) or a
 * network failure known to be passing. A rejected certificate, a closed client or an
 * error nobody anticipated will not heal in the next few seconds.
 */
export function isRetryable(error: unknown): boolean {
  return error instanceof UnavailableError && (TRANSIENT_CODES.has(error.code) || /^HTTP_50[234]$/.test(error.code));
}

function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const e = error as { code?: unknown; errors?: unknown; cause?: unknown };
  if (typeof e.code === 'string' && e.code !== '') return e.code;
  // Happy-eyeballs connects fail with an AggregateError holding one error per address.
  if (Array.isArray(e.errors)) {
    for (const inner of e.errors) {
      const c = errorCode(inner);
      if (c) return c;
    }
  }
  return e.cause === undefined ? undefined : errorCode(e.cause);
}

/**
 * Maps a failure below HTTP (connect, TLS, socket, timeout, parser) to a typed error. The
 * message carries only the code: system error messages name addresses, not secrets, but
 * there is no reason to forward them.
 */
export function mapTransportError(error: unknown): BackupManagerError {
  const code = errorCode(error) ?? 'UNKNOWN';
  if (CLOSED_CODES.has(code)) return new UnavailableError('Backup Manager client is closed', undefined, undefined, 'CLIENT_CLOSED');
  if (isTlsCode(code)) {
    return new UnavailableError(
      `Backup Manager's TLS certificate was not accepted (${code}); check BACKUP_MANAGER_CA_FILE`,
      undefined,
      undefined,
      code,
    );
  }
  if (code.startsWith('HPE_') || MALFORMED_RESPONSE_CODES.has(code)) {
    return new BadResponseError(`Backup Manager sent a malformed HTTP response (${code})`, undefined, undefined, '');
  }
  if (TIMEOUT_CODES.has(code)) return new UnavailableError(`Backup Manager did not answer in time (${code})`, undefined, undefined, code);
  return new UnavailableError(`Backup Manager unreachable (${code})`, undefined, undefined, code);
}

/** One exchange with the manager; exported for the REST adapter (rest-adapter.ts), which shares this HTTP core. */
export type ExchangeCall<T> = Call<T>;

interface Call<T> {
  method: 'GET' | 'POST';
  /** Templated, for logs and metrics. */
  route: string;
  path: string;
  body?: unknown;
  schema: z.ZodType<T>;
  /** Used in messages: what the bot was trying to do. */
  action: string;
  /** Used in not-found messages. */
  subject: string;
  /** Returned when a 2xx body can not be parsed: for a POST whose effect already happened. */
  fallback?: T;
  signal?: AbortSignal;
  /** Non-2xx statuses whose body is parsed with `schema` instead of becoming an error (detection's 404). */
  accept?: readonly number[];
}

/**
 * The Backup Manager over undici: one keep-alive pool, basic auth in a header, typed errors,
 * backoff for reads only. Credentials never reach a URL, a log line or an error message.
 */
export class BackupManagerClient implements BackupManagerApi {
  private readonly pool: Pool;
  private readonly prefix: string;
  private readonly authorization: string;
  private readonly secrets: string[];
  private readonly retryPolicy: RetryPolicy;
  private readonly log: Logger;
  private readonly onRequest: ((info: RequestInfo) => void) | undefined;
  private readonly requestTimeoutMs: number;
  private readonly deadlineMs: number;
  /** Aborts reads (in flight or waiting to retry) on close; POSTs are left to finish. */
  private readonly closing = new AbortController();
  private closed: Promise<void> | undefined;

  constructor(options: BackupManagerClientOptions) {
    // Every concurrent read listens on this signal; a poller watching many instances is not a leak.
    setMaxListeners(0, this.closing.signal);
    let url: URL;
    try {
      url = new URL(options.baseUrl);
    } catch {
      // The URL is not echoed: a mistyped one might still hold a password.
      throw new TypeError('Backup Manager base URL is not a valid URL');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError('Backup Manager base URL must be http(s)');
    if (url.username !== '' || url.password !== '') {
      throw new TypeError('Backup Manager base URL must not carry credentials; pass username and password');
    }
    this.prefix = url.pathname.replace(/\/+$/, '');
    const token = Buffer.from(`${options.username}:${options.password}`, 'utf8').toString('base64');
    this.authorization = `Basic ${token}`;
    this.secrets = [options.password, token].filter((s) => s.length >= 4);
    this.retryPolicy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    this.log = (options.logger ?? pino({ level: 'silent' })).child({ component: 'backup-manager' });
    this.onRequest = options.onRequest;

    const t = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
    this.requestTimeoutMs = t.requestTimeout;
    this.deadlineMs = t.deadline;
    this.pool = new Pool(url.origin, {
      connections: 8,
      headersTimeout: t.headersTimeout,
      bodyTimeout: t.bodyTimeout,
      keepAliveTimeout: t.keepAliveTimeout,
      maxResponseSize: MAX_RESPONSE_BYTES,
      // `connect.timeout` wins over `connectTimeout` once a connect object is given.
      connect: { timeout: t.connectTimeout, ...(options.ca ? { ca: options.ca } : {}) },
    });
  }

  async triggerBackup(instanceGuid: string, options: { signal?: AbortSignal } = {}): Promise<TriggerResponse> {
    const guid = requireGuid(instanceGuid);
    return await this.once(options.signal, {
      method: 'POST',
      route: '/backup_agent/backup',
      path: '/backup_agent/backup',
      body: { instance_guid: guid },
      schema: TriggerResponseSchema,
      action: `trigger a backup of instance ${quote(guid)}`,
      subject: `instance ${quote(guid)}`,
    });
  }

  async getInstance(instanceGuid: string, options: { retry?: boolean; signal?: AbortSignal } = {}): Promise<InstanceView> {
    const guid = requireGuid(instanceGuid);
    return await this.read(
      {
        method: 'GET',
        route: '/instances/:guid',
        path: `/instances/${encodeURIComponent(guid)}`,
        schema: InstanceViewSchema,
        action: `read instance ${quote(guid)}`,
        subject: `instance ${quote(guid)}`,
      },
      options,
    );
  }

  /** A GET: retried with backoff unless `retry: false`, all attempts ending by the deadline, `signal` or close. */
  private async read<T>(call: Call<T>, options: { retry?: boolean; signal?: AbortSignal }): Promise<T> {
    const budget = startBudget(this.deadlineMs);
    const deadline = timeoutSignal(this.deadlineMs, () => new DeadlineError(this.deadlineMs));
    const linked = linkSignals(options.signal, this.closing.signal, deadline.signal);
    const linkedCall: Call<T> = { ...call, signal: linked.signal };
    try {
      if (options.retry === false) return await this.once(undefined, linkedCall);
      return await retryWithBackoff(() => this.attempt(linkedCall), {
        ...this.retryPolicy,
        signal: linked.signal,
        remainingMs: () => budget.remainingMs(),
        shouldRetry: isRetryable,
        onRetry: ({ error, retry, delayMs }) =>
          this.log.info(
            { method: call.method, route: call.route, retry, delayMs, code: error instanceof UnavailableError ? error.code : undefined },
            'Backup Manager unavailable, retrying',
          ),
      }).catch((error: unknown) => {
        throw this.logFailure(call, error);
      });
    } finally {
      linked.dispose();
      deadline.dispose();
    }
  }

  /** The seed's restore takes numeric ids only; `_instanceGuid` is for the REST generation's adapter. */
  async triggerRestore(backupId: number, instanceId: number, _instanceGuid?: string, options: { signal?: AbortSignal } = {}): Promise<RestoreResponse> {
    requireId('backupId', backupId);
    requireId('instanceId', instanceId);
    return await this.once(options.signal, {
      method: 'POST',
      route: '/backup_agent/restores',
      path: '/backup_agent/restores',
      body: { backup_id: backupId, instance_id: instanceId },
      schema: RestoreResponseSchema,
      action: `restore backup ${backupId} to instance ${instanceId}`,
      subject: `backup ${backupId} or instance ${instanceId}`,
      // The restore has started once the manager says 2xx; an odd body must not make a user
      // believe it failed and trigger it again.
      fallback: { id: null, message: null },
    });
  }

  /**
   * A call on a route of another generation (the REST adapter, generation detection) through
   * this client's pool, auth, typed errors and scrubbing. A GET is retried with backoff like
   * getInstance unless `retry: false`; a POST is never retried.
   */
  async exchange<T>(call: ExchangeCall<T>, options: { retry?: boolean } = {}): Promise<T> {
    // Like the legacy POSTs, a POST is left to finish on close: cutting it would leave its effect unknown.
    if (call.method !== 'GET') return await this.once(call.signal, call);
    return await this.read(call, { ...options, ...(call.signal ? { signal: call.signal } : {}) });
  }

  close(): Promise<void> {
    if (!this.closed) {
      this.closing.abort(new UnavailableError('Backup Manager client is closed', undefined, undefined, 'CLIENT_CLOSED'));
      this.closed = this.pool.close();
    }
    return this.closed;
  }

  /**
   * A single attempt within the deadline, logged on failure. The POSTs go through here: never
   * retried, and not cut by close() (a POST that was sent should get its answer).
   */
  private async once<T>(signal: AbortSignal | undefined, call: Call<T>): Promise<T> {
    const deadline = timeoutSignal(this.deadlineMs, () => new DeadlineError(this.deadlineMs));
    const linked = linkSignals(call.signal, signal, deadline.signal);
    try {
      return await this.attempt({ ...call, signal: linked.signal });
    } catch (error) {
      throw this.logFailure(call, error);
    } finally {
      linked.dispose();
      deadline.dispose();
    }
  }

  private async attempt<T>(call: Call<T>): Promise<T> {
    if (this.closed) throw mapTransportError({ code: 'CLIENT_CLOSED' });
    call.signal?.throwIfAborted();
    const started = performance.now();
    const ms = this.requestTimeoutMs;
    const timeout = timeoutSignal(ms, () => new UnavailableError(`Backup Manager did not answer within ${formatMs(ms)} (REQUEST_TIMEOUT)`, undefined, undefined, 'REQUEST_TIMEOUT'));
    const signal = linkSignals(call.signal, timeout.signal);
    let status: number;
    let text: string;
    try {
      const response = await this.pool.request({
        method: call.method,
        path: this.prefix + call.path,
        headers: {
          authorization: this.authorization,
          accept: 'application/json',
          'user-agent': 'pgbackup-bot',
          ...(call.body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: call.body === undefined ? null : JSON.stringify(call.body),
        signal: signal.signal,
      });
      status = response.statusCode;
      text = await response.body.text();
    } catch (error) {
      this.report(call, 'error', started);
      // The caller's reason (a cancel, close(), the deadline) before this attempt's timeout.
      if (signal.signal.aborted) throw signal.signal.reason;
      throw mapTransportError(error);
    } finally {
      signal.dispose();
      timeout.dispose();
    }
    this.report(call, status, started);
    return this.interpret(call, status, text);
  }

  private interpret<T>(call: Call<T>, status: number, text: string): T {
    if ((status >= 200 && status < 300) || call.accept?.includes(status)) {
      let json: unknown;
      try {
        json = text.trim() === '' ? undefined : JSON.parse(text);
      } catch {
        return this.unparsable(call, status, text, 'body is not JSON');
      }
      const parsed = call.schema.safeParse(json);
      if (parsed.success) return parsed.data;
      const issues = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
      return this.unparsable(call, status, text, json === undefined ? 'empty body' : 'unexpected JSON shape', issues);
    }
    throw this.httpError(call, status, text);
  }

  private unparsable<T>(call: Call<T>, status: number, text: string, reason: string, issues?: string[]): T {
    const snippet = this.snippet(text);
    if (call.fallback !== undefined) {
      this.log.warn({ method: call.method, route: call.route, status, reason, issues, bodySnippet: snippet }, 'Backup Manager accepted the request with an unexpected body');
      return call.fallback;
    }
    const error = new BadResponseError(`Backup Manager gave an unexpected answer to ${call.action} (HTTP ${status}, ${reason})`, status, undefined, snippet);
    if (issues) this.log.warn({ method: call.method, route: call.route, status, issues }, 'Backup Manager answer failed validation');
    throw error;
  }

  private httpError<T>(call: Call<T>, status: number, text: string): BackupManagerError {
    const description = this.description(text);
    const tail = description ? `: ${description}` : '';
    if (status === 401 || status === 403) return new CredentialsRejectedError(`Backup Manager rejected the credentials (HTTP ${status})`, status, description);
    if (status === 404 || status === 410) return new NotFoundError(`Backup Manager has no ${call.subject} (HTTP ${status})${tail}`, status, description);
    if (status === 409 || status === 423) {
      return new ConflictError(`Backup Manager refused to ${call.action} because of a conflict (HTTP ${status})${tail}`, status, description);
    }
    if (status >= 400 && status < 500) return new RejectedError(`Backup Manager rejected the request to ${call.action} (HTTP ${status})${tail}`, status, description);
    if (status === 502 || status === 503 || status === 504) {
      return new UnavailableError(`Backup Manager unavailable (HTTP ${status})`, status, description, `HTTP_${status}`);
    }
    return new BadResponseError(`Backup Manager gave an unexpected answer to ${call.action} (HTTP ${status})${tail}`, status, description, this.snippet(text));
  }

  /** The manager's own explanation: `description` of a JSON error body, or a short plain-text body. */
  private description(text: string): string | undefined {
    const trimmed = text.trim();
    if (trimmed === '') return undefined;
    let json: unknown;
    try {
      json = JSON.parse(trimmed);
    } catch {
      // Older managers answer text or an HTML error page: only a short text line is worth showing.
      if (trimmed.startsWith('<') || trimmed.includes('\n') || trimmed.length > DESCRIPTION_CHARS) return undefined;
      return this.scrub(trimmed);
    }
    const body = ErrorBodySchema.safeParse(json);
    if (!body.success) return undefined;
    const d = body.data.description?.trim() || body.data.error?.trim();
    return d ? this.scrub(d.length > DESCRIPTION_CHARS ? `${d.slice(0, DESCRIPTION_CHARS)}…` : d) : undefined;
  }

  private snippet(text: string): string {
    const flat = text.replace(/\s+/g, ' ').trim();
    return this.scrub(flat.length > SNIPPET_CHARS ? `${flat.slice(0, SNIPPET_CHARS)}…` : flat);
  }

  /** Defence in depth: a misbehaving proxy could echo the request headers into its body. */
  private scrub(text: string): string {
    let out = text;
    for (const s of this.secrets) out = out.split(s).join('[REDACTED]');
    return out.replace(/Basic\s+[A-Za-z0-9+/=]{4,}/gi, 'Basic [REDACTED]');
  }

  private logFailure<T>(call: Call<T>, error: unknown): unknown {
    if (error instanceof BackupManagerError) {
      this.log.warn(
        {
          method: call.method,
          route: call.route,
          status: error.status,
          kind: error.kind,
          code: error instanceof UnavailableError ? error.code : undefined,
          bodySnippet: error instanceof BadResponseError && error.bodySnippet !== '' ? error.bodySnippet : undefined,
        },
        error.message,
      );
    }
    return error;
  }

  private report<T>(call: Call<T>, status: number | 'error', started: number): void {
    const durationMs = Math.round((performance.now() - started) * 10) / 10;
    this.log.debug({ method: call.method, route: call.route, status, durationMs }, 'Backup Manager request');
    if (!this.onRequest) return;
    try {
      this.onRequest({ route: call.route, method: call.method, status, durationMs });
    } catch (error) {
      // A broken metrics hook must not turn a good answer into a failure.
      this.log.warn({ err: error }, 'onRequest hook threw');
    }
  }
}

function requireGuid(guid: string): string {
  if (typeof guid !== 'string' || guid.trim() === '') throw new TypeError('instance guid must be a non-empty string');
  return guid.trim();
}

function requireId(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value <= 0) throw new TypeError(`${name} must be a positive integer`);
}

function quote(guid: string): string {
  return JSON.stringify(guid.length > 80 ? `${guid.slice(0, 80)}…` : guid);
}
