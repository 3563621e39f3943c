import type { SqlDb as Db } from './sql/sql-db';

/** Slack signs a request for 5 minutes; twice that leaves room for clock skew and retries. */
export const SEEN_REQUEST_KEEP_MS = 10 * 60_000;

/** Keys of Slack requests already handled: in the store, so a replay after a restart is still caught. */
export class SeenRequestsRepo {
  private readonly stmts;

  constructor(db: Db) {
    this.stmts = {
      insert: db.prepare('INSERT INTO seen_requests (key, seen_at) VALUES (?, ?) ON CONFLICT (key) DO NOTHING'),
      prune: db.prepare('DELETE FROM seen_requests WHERE seen_at < ?'),
    };
  }

  /**
   * Records `key`; true the first time it is seen within the keep window, false for a repeat.
   * One INSERT decides, so two copies arriving together can not both be first.
   */
  firstSighting(key: string, at: number, keepMs = SEEN_REQUEST_KEEP_MS): boolean {
    this.stmts.prune.run(at - keepMs);
    return this.stmts.insert.run(key, at).changes === 1;
  }
}
