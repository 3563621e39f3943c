import type { SqlDb as Db } from './sql/sql-db';

/** A person who opened the app's Home tab: in the store, so any replica can take it and the leader refreshes it. */
export interface HomeOpenerRow {
  user: string;
  /** Where this person's Home buttons act (NOTIFY_CHANNEL, else their DM with the app); null when neither is known. */
  channel: string | null;
  openedAt: number;
  /** How many times they opened it: grows with each opening, whichever replica's clock wrote it. */
  opens: number;
  /** When the leader last published this person's Home; null before the first publish. */
  publishedAt: number | null;
}

interface Raw {
  user_id: string;
  channel: string | null;
  opened_at: number;
  opens: number;
  published_at: number | null;
}

export class HomeOpenersRepo {
  private readonly stmts;

  constructor(db: Db) {
    this.stmts = {
      open: db.prepare(
        `INSERT INTO home_openers (user_id, channel, opened_at) VALUES (?, ?, ?)
         ON CONFLICT (user_id) DO UPDATE SET
           channel = COALESCE(excluded.channel, home_openers.channel),
           opened_at = excluded.opened_at,
           opens = home_openers.opens + 1
         RETURNING *`,
      ),
      since: db.prepare('SELECT * FROM home_openers WHERE opened_at >= ? ORDER BY opened_at, user_id'),
      published: db.prepare('UPDATE home_openers SET published_at = ? WHERE user_id = ?'),
      prune: db.prepare('DELETE FROM home_openers WHERE opened_at < ?'),
    };
  }

  /** `user` opened their Home at `at`; a channel not given keeps the one known. */
  open(user: string, channel: string | undefined, at: number): HomeOpenerRow {
    return toRow(this.stmts.open.get(user, channel ?? null, at) as Raw);
  }

  /** Everyone who opened their Home at `cutoff` or later, oldest first. */
  since(cutoff: number): HomeOpenerRow[] {
    return (this.stmts.since.all(cutoff) as Raw[]).map(toRow);
  }

  published(user: string, at: number): void {
    this.stmts.published.run(at, user);
  }

  /** Forgets who opened before `cutoff` (they get no refreshes any more); returns how many. */
  prune(cutoff: number): number {
    return this.stmts.prune.run(cutoff).changes;
  }
}

function toRow(r: Raw): HomeOpenerRow {
  return { user: r.user_id, channel: r.channel, openedAt: r.opened_at, opens: r.opens, publishedAt: r.published_at };
}
