/**
 * The migrations both stores take alike, written once in the types they share; `int` is the
 * integer type of times, ids and counts (SQLite INTEGER, PostgreSQL BIGINT: times are
 * milliseconds). Appended to SQLite's list from its version 8 and to PostgreSQL's from its
 * version 2 (its version 1 is SQLite's 1 to 7 in one). Append only: a new change of the schema
 * goes here, once.
 */
export function migrationsIn(int: 'INTEGER' | 'BIGINT'): string[] {
  return [
    // Several replicas (PostgreSQL; on SQLite the one bot is always leader, epoch 0): who leads,
    // the claim written before a restore POST, and the leader epoch of a Slack write's attempt.
    `
    CREATE TABLE leadership (
      id     INTEGER PRIMARY KEY CHECK (id = 1),
      epoch  ${int} NOT NULL,
      holder TEXT    NOT NULL,
      since  ${int} NOT NULL
    );
    ALTER TABLE restore_requests ADD COLUMN post_claimed_at ${int};
    ALTER TABLE restore_requests ADD COLUMN post_epoch ${int};
    ALTER TABLE outbox_jobs ADD COLUMN attempt_epoch ${int};
    `,
    // The App Home's openers: who opened their Home, where its buttons act, how often (so the
    // leader sees a new opening through another replica whatever the clocks say), and when the
    // leader last published it (the per-person bound holds across a failover).
    `
    CREATE TABLE home_openers (
      user_id      TEXT    PRIMARY KEY,
      channel      TEXT,
      opened_at    ${int} NOT NULL,
      opens        ${int} NOT NULL DEFAULT 1,
      published_at ${int}
    );
    CREATE INDEX home_openers_opened_at ON home_openers (opened_at);
    `,
    // What the leader read, for the overview on every replica (`/pgbackup status` may reach a
    // follower): per watched instance the latest view, in the manager's JSON, and when it was
    // read; and the manager's health (1 reachable, 0 not) since when.
    `
    CREATE TABLE instance_reads (
      instance TEXT    PRIMARY KEY,
      view     TEXT    NOT NULL,
      read_at  ${int} NOT NULL
    );
    CREATE TABLE manager_health (
      id    INTEGER PRIMARY KEY CHECK (id = 1),
      up    ${int} NOT NULL,
      since ${int} NOT NULL
    );
    `,
  ];
}
