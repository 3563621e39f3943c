import { escapeIdentifier } from 'pg';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Leadership, Role } from './leadership';
import { LockConnection, monotonic } from './lock-connection';
import { passwordOf } from '../pg-url';

/** The advisory lock of this bot's leadership; every replica must use the same key. */
export const DEFAULT_LOCK_KEY = 0x7067_626b; // "pgbk"

export interface PgLeadershipOptions {
  connectionString: string;
  /** Overrides the connection string's password (e.g. read from a mounted file). */
  password?: string;
  lockKey?: number | bigint;
  /** Who this replica is, for the leadership row and pg_stat_activity (e.g. hostname:pid). */
  holder: string;
  retryMs?: number;
  heartbeatMs?: number;
  heartbeatTimeoutMs?: number;
  leaseMs?: number;
  logger: Logger;
  /** Wall clock for the leadership row's `since`; the lease itself runs on a monotonic clock. */
  clock?: () => number;
  listenChannels?: string[];
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

const Settings = z
  .object({
    connectionString: z.string().min(1),
    holder: z.string().min(1),
    lockKey: z
      .union([z.bigint(), z.number().int()])
      .default(DEFAULT_LOCK_KEY)
      .transform((k) => BigInt(k))
      .refine((k) => k >= INT64_MIN && k <= INT64_MAX, 'lockKey must fit a PostgreSQL bigint'),
    retryMs: z.number().int().positive().default(1000),
    heartbeatMs: z.number().int().positive().default(1000),
    heartbeatTimeoutMs: z.number().int().positive().default(2000),
    leaseMs: z.number().int().positive().default(10000),
    listenChannels: z.array(z.string().min(1)).default([]),
  })
  .refine((s) => s.heartbeatMs + s.heartbeatTimeoutMs < s.leaseMs, {
    message: 'heartbeatMs + heartbeatTimeoutMs must be less than leaseMs, or a partitioned leader could act after the server freed its lock',
  })
  .refine((s) => s.retryMs < s.leaseMs, {
    message: 'retryMs must be less than leaseMs, or the server would end each follower session between two tries',
  });
type Settings = z.infer<typeof Settings>;

const Locked = z.object({ locked: z.boolean() });
// pg returns BIGINT as a string.
const Epoch = z.object({ epoch: z.union([z.string(), z.number()]).transform(Number).pipe(z.number().int().positive()) });
const Anything = z.unknown();

const BUMP_EPOCH = `INSERT INTO leadership (id, epoch, holder, since) VALUES (1, 1, $1, $2)
  ON CONFLICT (id) DO UPDATE SET epoch = leadership.epoch + 1, holder = excluded.holder,
  since = excluded.since RETURNING epoch`;

interface Lead {
  epoch: number;
  conn: LockConnection;
  heartbeat: NodeJS.Timeout;
  watchdog: NodeJS.Timeout | undefined;
}

type ChangeListener = (role: Role, epoch: number | null) => void;

/**
 * Leadership by a PostgreSQL session advisory lock held on one dedicated connection.
 *
 * Why a leader that loses its connection stops before another replica can lead: the lock
 * session runs with `idle_session_timeout = leaseMs`, so the server frees the lock no earlier
 * than leaseMs after the last query it answered (a crash or pg_terminate_backend frees it at
 * once, but also ends the connection, which the leader hears unless the network is cut; for
 * the cut-and-terminated case, and every other case no lease covers, the effects are fenced
 * by the epoch). The leader sends `SELECT 1` every heartbeatMs and keeps a deadline: the send
 * time of the latest answered query plus heartbeatMs + heartbeatTimeoutMs. The server was
 * busy after that send time, so its idle clock started later; the deadline therefore falls
 * before the server can free the lock, because heartbeatMs + heartbeatTimeoutMs < leaseMs (the
 * constructor insists). When the deadline passes, or the connection reports an error or its
 * end, the leader steps down at once and destroys the connection. `role()` and `epoch()` check
 * the deadline too, so a blocked event loop that delays the timer can not stretch the lease;
 * the gap leaseMs - (heartbeatMs + heartbeatTimeoutMs) is the margin left for the watchdog
 * timer firing late. The clocks involved are one monotonic clock here and the server's own
 * measure of idleness; they are never compared. This assumes the server does not drop a silent
 * client sooner on its own: its tcp_keepalives_* and tcp_user_timeout must allow leaseMs.
 *
 * A session pooler in transaction mode (PgBouncer) breaks session locks: connect directly.
 * idle_session_timeout needs PostgreSQL 14 or later; on older servers the session setup fails
 * and this replica never leads, which is the safe way to fail.
 */
export class PgLeadership implements Leadership {
  private readonly settings: Settings;
  private readonly log: Logger;
  private readonly clock: () => number;
  private readonly changeListeners = new Set<ChangeListener>();
  private readonly notifyListeners = new Map<string, Set<() => void>>();
  private readonly unsent: { role: Role; epoch: number | null }[] = [];
  private emitting = false;

  private started = false;
  /** Set the moment stop() is called, before anything it does can call back into us. */
  private halted = false;
  private stopping: Promise<void> | undefined;
  private conn: LockConnection | undefined;
  private lead: Lead | undefined;
  private campaign: Promise<void> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  /** In a spell of failures: the first is logged, the rest are not, until an attempt succeeds. */
  private failing = false;

  constructor(private readonly options: PgLeadershipOptions) {
    const parsed = Settings.safeParse({
      connectionString: options.connectionString,
      holder: options.holder,
      lockKey: options.lockKey,
      retryMs: options.retryMs,
      heartbeatMs: options.heartbeatMs,
      heartbeatTimeoutMs: options.heartbeatTimeoutMs,
      leaseMs: options.leaseMs,
      listenChannels: options.listenChannels,
    });
    if (!parsed.success) throw new Error(`leadership options: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
    this.settings = parsed.data;
    // The composition root names the component (logger.child); a second binding would repeat it.
    this.log = options.logger;
    this.clock = options.clock ?? Date.now;
  }

  role(): Role {
    this.checkDeadline();
    return this.lead ? 'leader' : 'follower';
  }

  epoch(): number | null {
    this.checkDeadline();
    return this.lead?.epoch ?? null;
  }

  onChange(listener: ChangeListener): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  onNotify(channel: string, listener: () => void): () => void {
    if (!this.settings.listenChannels.includes(channel)) {
      throw new Error(`leadership: "${channel}" is not one of listenChannels, so it would never be heard`);
    }
    const set = this.notifyListeners.get(channel) ?? new Set();
    this.notifyListeners.set(channel, set);
    set.add(listener);
    return () => set.delete(listener);
  }

  start(): Promise<void> {
    if (this.halted) return Promise.reject(new Error('leadership: started after stop'));
    if (!this.started) {
      this.started = true;
      this.runCampaign();
    }
    return Promise.resolve();
  }

  stop(): Promise<void> {
    if (!this.stopping) {
      this.halted = true;
      this.stopping = this.shutDown();
    }
    return this.stopping;
  }

  private async shutDown(): Promise<void> {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const conn = this.conn;
    this.conn = undefined;
    const lead = this.lead;
    // Stop acting first, then let go of the lock: never two leaders, not even for a moment.
    if (lead) this.stepDown('stopping');
    if (conn) {
      if (lead) {
        await conn
          .first('SELECT pg_advisory_unlock($1::bigint) AS unlocked', [this.settings.lockKey.toString()], Anything)
          .catch((err: unknown) => this.log.warn({ err: this.describe(err) }, 'leadership lock not released on stop; the server frees it with the session'));
      }
      await conn.close(this.settings.heartbeatTimeoutMs);
    }
    await this.campaign;
  }

  private runCampaign(): void {
    this.retryTimer = undefined;
    if (this.halted || this.lead || this.campaign) return;
    this.campaign = this.tryToLead().finally(() => {
      this.campaign = undefined;
      if (!this.lead) this.scheduleRetry();
    });
  }

  private scheduleRetry(): void {
    if (this.halted || this.lead || this.campaign || this.retryTimer) return;
    this.retryTimer = setTimeout(() => this.runCampaign(), this.settings.retryMs);
  }

  /** One try: connect if need be, take the lock if free, bump the epoch, listen, lead. */
  private async tryToLead(): Promise<void> {
    try {
      const conn = this.conn ?? (await this.connect());
      if (!conn || this.halted) return;
      const key = this.settings.lockKey.toString();
      const { locked } = await conn.first('SELECT pg_try_advisory_lock($1::bigint) AS locked', [key], Locked);
      if (locked) {
        const { epoch } = await conn.first(BUMP_EPOCH, [this.options.holder, this.clock()], Epoch);
        for (const channel of this.settings.listenChannels) await conn.exec(`LISTEN ${escapeIdentifier(channel)}`);
        // The connection may have been lost (or stop() called) while the last answer was on its way.
        if (this.halted || conn !== this.conn) return;
        this.becomeLeader(conn, epoch);
      }
      this.recovered();
    } catch (err) {
      const conn = this.conn;
      this.conn = undefined;
      // Whatever half-done state the session is in (maybe holding the lock), it goes with it.
      conn?.destroy('campaign step failed');
      if (!this.halted) this.trouble(this.describe(err));
    }
  }

  private async connect(): Promise<LockConnection | undefined> {
    const s = this.settings;
    const conn: LockConnection = new LockConnection({
      connectionString: this.options.connectionString,
      ...(this.options.password !== undefined ? { password: this.options.password } : {}),
      applicationName: `pgbackup-bot leadership ${this.options.holder}`,
      idleSessionTimeoutMs: s.leaseMs,
      queryTimeoutMs: s.heartbeatTimeoutMs,
      connectTimeoutMs: s.leaseMs,
      keepAliveDelayMs: s.heartbeatMs,
      onLost: (reason) => this.lost(conn, reason),
      onNotification: (channel) => this.notified(conn, channel),
    });
    this.conn = conn;
    await conn.open();
    return this.conn === conn ? conn : undefined;
  }

  private becomeLeader(conn: LockConnection, epoch: number): void {
    const lead: Lead = {
      epoch,
      conn,
      heartbeat: setInterval(() => this.beat(lead), this.settings.heartbeatMs),
      watchdog: undefined,
    };
    this.lead = lead;
    this.armWatchdog(lead);
    this.log.info({ epoch, holder: this.options.holder }, 'became leader');
    this.emit('leader', epoch);
  }

  private beat(lead: Lead): void {
    lead.conn.exec('SELECT 1').then(
      () => {
        if (this.lead === lead) this.armWatchdog(lead);
      },
      (err: unknown) => {
        if (this.lead === lead) this.loseLead(`heartbeat failed: ${this.describe(err)}`);
      },
    );
  }

  private deadline(lead: Lead): number {
    return lead.conn.answeredAfter() + this.settings.heartbeatMs + this.settings.heartbeatTimeoutMs;
  }

  private armWatchdog(lead: Lead): void {
    clearTimeout(lead.watchdog);
    lead.watchdog = setTimeout(() => {
      if (this.lead !== lead) return;
      // Timers and the monotonic clock round differently: a timer a hair early just waits again.
      if (monotonic() >= this.deadline(lead)) this.loseLead('heartbeat timeout');
      else this.armWatchdog(lead);
    }, Math.max(0, this.deadline(lead) - monotonic()));
  }

  private checkDeadline(): void {
    const lead = this.lead;
    if (lead && monotonic() >= this.deadline(lead)) this.loseLead('heartbeat timeout');
  }

  /** Leadership ends by failure: step down, drop the connection (and with it the lock), try again later. */
  private loseLead(reason: string): void {
    const lead = this.lead;
    if (!lead) return;
    this.log.warn({ reason }, 'leadership connection lost');
    this.stepDown(reason);
    if (this.conn === lead.conn) this.conn = undefined;
    lead.conn.destroy(reason);
    this.failing = true;
    this.scheduleRetry();
  }

  private stepDown(reason: string): void {
    const lead = this.lead;
    if (!lead) return;
    this.lead = undefined;
    clearInterval(lead.heartbeat);
    clearTimeout(lead.watchdog);
    this.log.info({ reason, epoch: lead.epoch }, 'stepped down');
    this.emit('follower', null);
  }

  private lost(conn: LockConnection, reason: string): void {
    if (conn !== this.conn) return;
    this.conn = undefined;
    if (this.lead?.conn === conn) {
      this.loseLead(reason);
      return;
    }
    // A campaign in flight learns of it from its failing query and retries itself.
    if (this.campaign) return;
    this.trouble(reason);
    this.scheduleRetry();
  }

  private trouble(reason: string): void {
    if (this.failing) return;
    this.failing = true;
    this.log.warn({ reason, retryMs: this.settings.retryMs }, 'leadership connection failing; retrying');
  }

  private recovered(): void {
    if (!this.failing) return;
    this.failing = false;
    this.log.info('leadership connection working again');
  }

  private notified(conn: LockConnection, channel: string): void {
    if (this.lead?.conn !== conn) return;
    for (const listener of this.notifyListeners.get(channel) ?? []) this.call(() => listener());
  }

  /**
   * Changes reach every listener in the order they happened, even when a listener causes the
   * next change (stop() from a 'leader' listener, say): that one waits until this one is told.
   */
  private emit(role: Role, epoch: number | null): void {
    this.unsent.push({ role, epoch });
    if (this.emitting) return;
    this.emitting = true;
    try {
      for (let change = this.unsent.shift(); change; change = this.unsent.shift()) {
        const { role: r, epoch: e } = change;
        for (const listener of this.changeListeners) this.call(() => listener(r, e));
      }
    } finally {
      this.emitting = false;
    }
  }

  /** A listener that throws must not break the state machine that called it. */
  private call(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log.warn({ err: this.describe(err) }, 'leadership listener threw');
    }
  }

  /** An error as text fit for a log: no connection string, no password. */
  private describe(err: unknown): string {
    const text = err instanceof Error ? err.message : String(err);
    let out = this.options.connectionString ? text.split(this.options.connectionString).join('[connection string]') : text;
    for (const secret of [this.options.password, passwordOf(this.options.connectionString)]) {
      if (secret) out = out.split(secret).join('[REDACTED]');
    }
    return out.replace(/(\/\/[^/\s:@]+:)[^@\s/]+@/g, '$1[REDACTED]@');
  }
}
