import type { SqlDb as Db } from './sql/sql-db';

/** Slack signs a request for 5 minutes; twice that leaves room for clock skew and retries. */
export const SEEN_REQUEST_KEEP_MS = 10 * 60_000;

/** Keys of Slack requests already handled: in the store, so a replay after a restart is still caught. */
export class SeenRequestsRepo {
  private readonly stmts;
  private lastPruneAt = -Infinity;

  constructor(db: Db) {
    this.stmts = {
      // A key seen before the window counts as new again (and is seen now): the window holds
      // exactly, however long ago the last prune ran.
      insert: db.prepare(
        `INSERT INTO seen_requests (key, seen_at) VALUES (?, ?)
         ON CONFLICT (key) DO UPDATE SET seen_at = excluded.seen_at WHERE seen_requests.seen_at < ?`,
      ),
      prune: db.prepare('DELETE FROM seen_requests WHERE seen_at < ?'),
    };
  }

  /**
   * Records `key`; true the first time it is seen within the keep window, false for a repeat.
   * One statement decides, so two copies arriving together can not both be first. Old keys are
   * deleted at most once a minute: a second statement on every command and click was a second
   * round trip on PostgreSQL and the costliest step before the ack.
   */
  firstSighting(key: string, at: number, keepMs = SEEN_REQUEST_KEEP_MS): boolean {
    if (at - this.lastPruneAt >= SEEN_REQUEST_PRUNE_EVERY_MS) {
      this.stmts.prune.run(at - keepMs);
      this.lastPruneAt = at;
    }
    return this.stmts.insert.run(key, at, at - keepMs).changes === 1;
  }
}

/** How often old keys are deleted: they only need to stay bounded. */
export const SEEN_REQUEST_PRUNE_EVERY_MS = 60_000;
