import type Database from 'better-sqlite3';
import { AuditRepo } from './audit';
import { openSqlite, type OpenOptions as SqliteOptions } from './sqlite-schema';
import { migratePg } from './pg-schema';
import { pgDb } from './sql/pg-db';
import type { SqlDb } from './sql/sql-db';
import { describePgOpenError, isPostgresUrl } from './state-target';
import { WatchRepo } from './failures';
import { HomeOpenersRepo } from './home-openers';
import { InstanceReadsRepo } from './instance-reads';
import { IntentsRepo } from './intents';
import { OutboxJobsRepo } from './outbox-jobs';
import { RestoresRepo } from './restores';
import { SeenRequestsRepo } from './seen-requests';
import { StalenessRepo } from './staleness';
import { TasksRepo } from './tasks';

export * from './audit';
export * from './failures';
export * from './home-openers';
export * from './instance-reads';
export * from './intents';
export * from './outbox-jobs';
export * from './restores';
export * from './seen-requests';
export * from './staleness';
export * from './tasks';

export { isUniqueViolation, type SqlDb } from './sql/sql-db';
export { rawSqlite } from './sql/sqlite-db';
export { isPostgresUrl, refuseA9sPgTarget, describeStateTarget } from './state-target';

/**
 * The bot's durable state: one SQLite file (or `:memory:` in tests) for one bot, or a
 * PostgreSQL database shared by several replicas. The same repositories on either.
 */
export interface Store {
  readonly db: SqlDb;
  readonly tasks: TasksRepo;
  readonly restores: RestoresRepo;
  readonly watch: WatchRepo;
  readonly audit: AuditRepo;
  readonly outbox: OutboxJobsRepo;
  readonly seen: SeenRequestsRepo;
  readonly intents: IntentsRepo;
  readonly staleness: StalenessRepo;
  readonly homeOpeners: HomeOpenersRepo;
  readonly reads: InstanceReadsRepo;
  /**
   * Proves the store can still take a write: writes a row that needs fresh pages (about what
   * tracking a backup takes), so a full disk (SQLITE_FULL) or a locked or read-only file throws
   * here. `busyMs` caps the wait for a lock (readiness must not block the event loop long; on
   * PostgreSQL the call's own deadline bounds it).
   */
  probeWrite(at: number, busyMs?: number): void;
  /** Runs `fn` in one transaction: all of its writes land, or none. */
  transaction<T>(fn: () => T): T;
  close(): void;
}

export interface StoreOptions extends SqliteOptions {
  /** PostgreSQL: the password (STATE_DB_PASSWORD_FILE's content), overriding one in the URL. */
  password?: string;
  /** PostgreSQL: longest wait for one statement, connecting included (default 5000 ms). */
  callTimeoutMs?: number;
}

/** `target`: an SQLite path (or `:memory:`), or a `postgres://` URL. Migrates before it returns. */
export function openStore(target: string, options: StoreOptions = {}): Store {
  let db: SqlDb;
  let probeWrite: Store['probeWrite'];
  if (isPostgresUrl(target)) {
    db = openPostgres(target, options);
    probeWrite = pgWriteProbe(db);
  } else {
    const sqlite = openSqlite(target, options);
    db = sqlite;
    probeWrite = sqliteWriteProbe(sqlite.raw);
  }
  return {
    db,
    tasks: new TasksRepo(db),
    restores: new RestoresRepo(db),
    watch: new WatchRepo(db),
    audit: new AuditRepo(db),
    outbox: new OutboxJobsRepo(db),
    seen: new SeenRequestsRepo(db),
    intents: new IntentsRepo(db),
    staleness: new StalenessRepo(db),
    homeOpeners: new HomeOpenersRepo(db),
    reads: new InstanceReadsRepo(db),
    probeWrite,
    transaction: <T>(fn: () => T): T => db.transaction(fn),
    close: () => {
      if (db.open) db.close();
    },
  };
}

function openPostgres(url: string, options: StoreOptions): SqlDb {
  const db = pgDb({
    connectionString: url,
    ...(options.password === undefined ? {} : { password: options.password }),
    ...(options.callTimeoutMs === undefined ? {} : { callTimeoutMs: options.callTimeoutMs }),
  });
  try {
    migratePg(db);
  } catch (err) {
    db.close();
    throw describePgOpenError(url, err);
  }
  return db;
}

/** PostgreSQL: a committed write is the proof (disk full or read-only shows as its error). */
function pgWriteProbe(db: SqlDb): (at: number) => void {
  const beat = db.prepare('INSERT INTO store_heartbeat (id, at) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET at = excluded.at');
  return (at) => {
    beat.run(at);
  };
}

/** A bit more than two pages: an insert that can not be served from a page already half full. */
const PROBE_BYTES = 9000;

function sqliteWriteProbe(db: Database.Database): (at: number, busyMs?: number) => void {
  const insert = db.prepare('INSERT INTO store_probe (pad) VALUES (zeroblob(?))');
  const remove = db.prepare('DELETE FROM store_probe');
  const beat = db.prepare('INSERT INTO store_heartbeat (id, at) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET at = excluded.at');
  const write = db.transaction((at: number) => {
    insert.run(PROBE_BYTES);
    remove.run();
    beat.run(at);
  });
  return (at, busyMs) => {
    if (busyMs === undefined) return write(at);
    // better-sqlite3 blocks the event loop while it waits for a lock.
    const busy = db.pragma('busy_timeout', { simple: true }) as number;
    db.pragma(`busy_timeout = ${Math.min(busy, Math.max(0, Math.floor(busyMs)))}`);
    try {
      write(at);
    } finally {
      db.pragma(`busy_timeout = ${busy}`);
    }
  };
}
