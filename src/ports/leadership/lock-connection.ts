import { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Client } from 'pg';
import type { z } from 'zod';
import { within } from '../../within';
import { withPassword } from '../pg-url';

export interface LockConnectionOptions {
  connectionString: string;
  password?: string;
  applicationName: string;
  /** idle_session_timeout: after this much silence the server ends the session, freeing its locks. */
  idleSessionTimeoutMs: number;
  /** statement_timeout, and the client-side bound of every query. */
  queryTimeoutMs: number;
  connectTimeoutMs: number;
  keepAliveDelayMs: number;
  /** Once, when the connection becomes unusable for any reason (never after `close`). */
  onLost: (reason: string) => void;
  onNotification: (channel: string) => void;
}

/** Milliseconds on a clock that never jumps (wall-clock steps must not stretch a lease). */
export const monotonic = (): number => performance.now();

/**
 * One dedicated PostgreSQL session, the one that holds the leadership lock. Not a pool: a
 * session advisory lock belongs to the session, so the session must be ours alone.
 *
 * A query that does not answer in time makes the whole connection unusable (the protocol can
 * not skip an answer), so it is destroyed and reported lost rather than left half-alive.
 */
export class LockConnection {
  private readonly client: Client;
  private socket: Socket | undefined;
  private done = false;
  private opened = false;
  private answered = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: LockConnectionOptions) {
    this.client = new Client({
      connectionString: withPassword(options.connectionString, options.password),
      application_name: options.applicationName,
      keepAlive: true,
      keepAliveInitialDelayMillis: options.keepAliveDelayMs,
      connectionTimeoutMillis: options.connectTimeoutMs,
      // Our own socket, so that a connection stuck in a partition can be torn down at once;
      // pg's end() would wait for a goodbye that never comes.
      stream: () => {
        this.socket = new Socket();
        return this.socket;
      },
    });
    // Listeners stay for the client's whole life: pg may still emit after we let go of it.
    this.client.on('error', (err: Error) => this.lose(`connection error: ${err.message}`));
    this.client.on('end', () => this.lose('connection ended'));
    this.client.on('notification', (n) => {
      if (!this.done) options.onNotification(n.channel);
    });
  }

  /**
   * The monotonic time at which the latest answered query was sent. The server was alive and
   * not idle at some moment after it, so its idle_session_timeout can not fire before
   * `answeredAfter() + idleSessionTimeoutMs`.
   */
  answeredAfter(): number {
    return this.answered;
  }

  /** Connects and sets the session up; rejects (and is lost) when either fails or takes too long. */
  async open(): Promise<void> {
    await this.bounded(this.client.connect(), this.options.connectTimeoutMs, 'connecting timed out');
    // SET takes no parameters; both values are validated integers.
    await this.exec(
      `SET idle_session_timeout = ${Math.trunc(this.options.idleSessionTimeoutMs)}; ` +
        `SET statement_timeout = ${Math.trunc(this.options.queryTimeoutMs)}`,
    );
    this.opened = true;
  }

  /** The first row of a query, checked by `row`; bounded by queryTimeoutMs. */
  async first<T>(text: string, values: readonly unknown[], row: z.ZodType<T>): Promise<T> {
    const sentAt = monotonic();
    const result = await this.bounded(this.client.query(text, [...values]), this.options.queryTimeoutMs, 'query timed out');
    this.answered = Math.max(this.answered, sentAt);
    return row.parse(result.rows[0]);
  }

  /** A statement whose result does not matter; bounded by queryTimeoutMs. */
  async exec(text: string): Promise<void> {
    const sentAt = monotonic();
    await this.bounded(this.client.query(text), this.options.queryTimeoutMs, 'query timed out');
    this.answered = Math.max(this.answered, sentAt);
  }

  /** Tears the connection down now, without a goodbye; the server notices when the network lets it. */
  destroy(reason: string): void {
    this.lose(reason);
  }

  /** A polite goodbye when the server answers in time, else `destroy`; never reports lost. */
  async close(ms: number): Promise<void> {
    const wasOpen = this.opened && !this.done;
    this.done = true;
    // Half-way through connecting there is nobody to say goodbye to.
    if (!wasOpen) return this.teardown();
    // Answered, refused or late: the socket goes either way.
    await within(this.client.end(), ms);
    this.teardown();
  }

  private lose(reason: string): void {
    if (this.done) return;
    this.done = true;
    this.teardown();
    this.options.onLost(reason);
  }

  private teardown(): void {
    this.socket?.destroy();
  }

  private async bounded<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
    const answer = await within(work, ms);
    if (answer.kind === 'timeout') {
      this.lose(what);
      throw new Error(what);
    }
    if (answer.kind === 'error') throw answer.error instanceof Error ? answer.error : new Error(String(answer.error));
    return answer.value;
  }
}
