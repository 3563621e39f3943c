import type { SqlDb as Db } from './sql/sql-db';

/** What the staleness alarm remembers per watched instance, so a restart repeats no notice. */
export interface StalenessRow {
  instance: string;
  firstSeenAt: number;
  /** When the newest `done` backup was taken (ms); null when none was seen. */
  lastSuccessAt: number | null;
  /** When the stale spell now going on was announced; null while fresh. */
  staleSince: number | null;
}

interface Raw {
  instance: string;
  first_seen_at: number;
  last_success_at: number | null;
  stale_since: number | null;
}

export class StalenessRepo {
  private readonly stmts;

  constructor(db: Db) {
    this.stmts = {
      get: db.prepare('SELECT * FROM staleness WHERE instance = ?'),
      all: db.prepare('SELECT * FROM staleness ORDER BY instance'),
      see: db.prepare('INSERT INTO staleness (instance, first_seen_at) VALUES (?, ?) ON CONFLICT (instance) DO NOTHING'),
      setSuccess: db.prepare('UPDATE staleness SET last_success_at = ? WHERE instance = ?'),
      markStale: db.prepare('UPDATE staleness SET stale_since = ? WHERE instance = ? AND stale_since IS NULL'),
      markFresh: db.prepare('UPDATE staleness SET stale_since = NULL WHERE instance = ? AND stale_since IS NOT NULL'),
    };
  }

  get(instance: string): StalenessRow | undefined {
    const r = this.stmts.get.get(instance) as Raw | undefined;
    return r ? toRow(r) : undefined;
  }

  all(): StalenessRow[] {
    return (this.stmts.all.all() as Raw[]).map(toRow);
  }

  /** The row of the instance, created on its first read. */
  see(instance: string, at: number): StalenessRow {
    this.stmts.see.run(instance, at);
    return this.get(instance) as StalenessRow;
  }

  setLastSuccess(instance: string, at: number | null): void {
    this.stmts.setSuccess.run(at, instance);
  }

  /** True for the one caller that should announce the stale spell starting `at`. */
  claimStale(instance: string, at: number): boolean {
    return this.stmts.markStale.run(at, instance).changes === 1;
  }

  /** True for the one caller that should announce the recovery. */
  claimFresh(instance: string): boolean {
    return this.stmts.markFresh.run(instance).changes === 1;
  }
}

function toRow(r: Raw): StalenessRow {
  return { instance: r.instance, firstSeenAt: r.first_seen_at, lastSuccessAt: r.last_success_at, staleSince: r.stale_since };
}
