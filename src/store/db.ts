import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

export type Db = Database.Database;

/**
 * Migrations in code, applied in order and recorded in `PRAGMA user_version`. Append only:
 * a released migration is never edited, so every database reaches the same schema.
 */
const MIGRATIONS: string[] = [
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
];

export interface OpenOptions {
  /** How long a write waits for another connection's lock before SQLITE_BUSY (default 5000 ms). */
  busyTimeoutMs?: number;
}

export const DEFAULT_BUSY_TIMEOUT_MS = 5000;

export function openDatabase(path: string, options: OpenOptions = {}): Db {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS))}`);
  migrate(db);
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
