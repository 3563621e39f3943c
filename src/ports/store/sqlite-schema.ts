import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { StartupError } from '../../startup-error';
import { sqliteDb } from './sql/sqlite-db';
import { migrationsIn } from './migrations';
import type { SqlDb } from './sql/sql-db';

type Db = Database.Database;

/**
 * Migrations in code, applied in order and recorded in `PRAGMA user_version`. Append only:
 * a released migration is never edited, so every database reaches the same schema.
 */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE tracked_tasks (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    instance        TEXT    NOT NULL,
    backup_id       INTEGER NOT NULL,
    channel         TEXT    NOT NULL,
    parent_ts       TEXT,
    requester       TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    backup_name     TEXT,
    size            INTEGER,
    msg             TEXT,
    created_at      INTEGER NOT NULL,
    status_at       INTEGER NOT NULL,
    finished_at     INTEGER,
    active          INTEGER NOT NULL DEFAULT 1,
    UNIQUE (instance, backup_id)
  );
  CREATE INDEX tracked_tasks_active ON tracked_tasks (active, instance);

  CREATE TABLE restore_requests (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    instance            TEXT    NOT NULL,
    instance_numeric_id INTEGER NOT NULL,
    backup_id           INTEGER NOT NULL,
    backup_name         TEXT,
    backup_size         INTEGER,
    backup_created_at   TEXT,
    newer_backups       TEXT    NOT NULL DEFAULT '[]',
    requester           TEXT    NOT NULL,
    reason              TEXT    NOT NULL DEFAULT '',
    channel             TEXT    NOT NULL,
    card_ts             TEXT,
    followup_ts         TEXT,
    state               TEXT    NOT NULL,
    approvals_needed    INTEGER NOT NULL,
    created_at          INTEGER NOT NULL,
    expires_at          INTEGER NOT NULL,
    decided_by          TEXT,
    decided_at          INTEGER,
    started_at          INTEGER,
    manager_restore_id  INTEGER,
    finished_at         INTEGER,
    outcome             TEXT
  );
  -- The lock of behaviour.md: at most one approved or running restore per instance,
  -- enforced by the database so that no race can start two.
  CREATE UNIQUE INDEX restore_one_per_instance ON restore_requests (instance)
    WHERE state IN ('approved', 'running');
  CREATE INDEX restore_requests_state ON restore_requests (state);

  CREATE TABLE restore_approvals (
    request_id  INTEGER NOT NULL REFERENCES restore_requests (id),
    user_id     TEXT    NOT NULL,
    approved_at INTEGER NOT NULL,
    PRIMARY KEY (request_id, user_id)
  );

  CREATE TABLE seen_failures (
    instance  TEXT    NOT NULL,
    backup_id INTEGER NOT NULL,
    seen_at   INTEGER NOT NULL,
    announced INTEGER NOT NULL,
    PRIMARY KEY (instance, backup_id)
  );

  CREATE TABLE watched_instances (
    instance           TEXT PRIMARY KEY,
    first_seen_at      INTEGER NOT NULL,
    unreachable_since  INTEGER,
    outage_announced   INTEGER NOT NULL DEFAULT 0
  );

  CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    at         INTEGER NOT NULL,
    actor      TEXT    NOT NULL,
    action     TEXT    NOT NULL,
    instance   TEXT,
    request_id INTEGER,
    details    TEXT    NOT NULL DEFAULT '{}'
  );

  CREATE TABLE outbox_jobs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    key         TEXT    NOT NULL UNIQUE,
    channel     TEXT    NOT NULL,
    method      TEXT    NOT NULL,
    payload     TEXT    NOT NULL,
    ref         TEXT,
    state       TEXT    NOT NULL DEFAULT 'pending',
    attempts    INTEGER NOT NULL DEFAULT 0,
    result_ts   TEXT,
    error       TEXT,
    created_at  INTEGER NOT NULL,
    done_at     INTEGER
  );
  CREATE INDEX outbox_pending ON outbox_jobs (state, id);
  `,
  `
  -- Slack requests already handled, so a replayed or retried one does nothing (kept 10 minutes).
  CREATE TABLE seen_requests (
    key     TEXT    PRIMARY KEY,
    seen_at INTEGER NOT NULL
  );
  CREATE INDEX seen_requests_at ON seen_requests (seen_at);

  -- A backup POST about to be sent: written before it, closed once its outcome is recorded, so
  -- a restart in between can look for the backup instead of losing it.
  CREATE TABLE backup_intents (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    instance   TEXT    NOT NULL,
    requester  TEXT    NOT NULL,
    channel    TEXT    NOT NULL,
    known_ids  TEXT    NOT NULL DEFAULT '[]',
    created_at INTEGER NOT NULL,
    closed_at  INTEGER
  );
  CREATE INDEX backup_intents_open ON backup_intents (closed_at);

  -- Written by the readiness probe: proof that the store can still take a write.
  CREATE TABLE store_heartbeat (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    at  INTEGER NOT NULL
  );
  CREATE TABLE store_probe (
    id  INTEGER PRIMARY KEY AUTOINCREMENT,
    pad BLOB NOT NULL
  );
  `,
  `
  -- The manager answered the restore POST with a 2xx: the restore was sent and accepted, even
  -- when the answer carried no id (a9s-pg's restore is not recorded). A restart must know it.
  ALTER TABLE restore_requests ADD COLUMN post_confirmed INTEGER NOT NULL DEFAULT 0;
  `,
  // A post started and not answered for sure (timeout, 5xx, reset, or a crash mid-call): it may
  // have landed, so it is looked up in Slack before it is posted again.
  `ALTER TABLE outbox_jobs ADD COLUMN in_flight INTEGER NOT NULL DEFAULT 0;`,
  // RESTORE_REJECTIONS: a request ends once this many people have rejected it.
  `
  ALTER TABLE restore_requests ADD COLUMN rejections_needed INTEGER NOT NULL DEFAULT 1;
  CREATE TABLE restore_rejections (
    request_id  INTEGER NOT NULL REFERENCES restore_requests (id),
    user_id     TEXT    NOT NULL,
    rejected_at INTEGER NOT NULL,
    PRIMARY KEY (request_id, user_id)
  );
  `,
  // The job's priority, set by who made it (message-keys): a resumed job keeps its place.
  `ALTER TABLE outbox_jobs ADD COLUMN priority INTEGER NOT NULL DEFAULT 5;`,
  // The staleness alarm: per watched instance, when it was first read, the newest `done`
  // backup seen, and the start of the stale spell announced (NULL while fresh).
  `
  CREATE TABLE staleness (
    instance         TEXT    PRIMARY KEY,
    first_seen_at    INTEGER NOT NULL,
    last_success_at  INTEGER,
    stale_since      INTEGER
  );
  `,
  // From here on, one list for both dialects (migrations.ts).
  ...migrationsIn('INTEGER'),
];

export interface OpenOptions {
  /** How long a write waits for another connection's lock before SQLITE_BUSY (default 5000 ms). */
  busyTimeoutMs?: number;
}

export const DEFAULT_BUSY_TIMEOUT_MS = 5000;

/** Why the state file can not be used, in words an operator acts on; the path is always named. */
export function describeOpenError(path: string, err: unknown): string {
  const code = (err as { code?: unknown }).code;
  const message = err instanceof Error ? err.message : String(err);
  const at = `STATE_DB ${path}`;
  if (code === 'SQLITE_NOTADB') return `${at} is not an SQLite database (file is not a database); move it away or point STATE_DB at another file`;
  if (code === 'SQLITE_CORRUPT') return `${at} is corrupt (${message})`;
  if (code === 'EROFS' || code === 'SQLITE_READONLY' || /readonly|read-only/i.test(message)) return `${at} can not be written: read-only file system or file (${String(code ?? message)})`;
  if (code === 'EACCES' || code === 'EPERM') return `${at} can not be written: permission denied on ${dirname(path)} (${code})`;
  if (code === 'ENOTDIR' || code === 'EEXIST') return `${at} can not be created: ${dirname(path)} is not a directory (${code})`;
  if (code === 'SQLITE_CANTOPEN' || code === 'ENOENT') return `${at} can not be opened or created in ${dirname(path)}: is the directory writable? (${String(code)})`;
  return `${at} can not be opened: ${message}${typeof code === 'string' ? ` (${code})` : ''}`;
}

/** The SQLite store: a file (or `:memory:`), migrated. */
export function openSqlite(path: string, options: OpenOptions = {}): SqlDb & { readonly raw: Db } {
  try {
    return sqliteDb(openChecked(path, options));
  } catch (err) {
    throw new StartupError(describeOpenError(path, err));
  }
}

function openChecked(path: string, options: OpenOptions): Db {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    db.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS))}`);
    migrate(db);
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}

export function migrate(db: Db): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  for (let v = current; v < MIGRATIONS.length; v++) {
    const sql = MIGRATIONS[v] as string;
    db.transaction(() => {
      db.exec(sql);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}

export function schemaVersion(db: Db): number {
  return db.pragma('user_version', { simple: true }) as number;
}
