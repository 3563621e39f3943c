import type { SqlDb as Db } from './sql/sql-db';

/** What the failure watch remembers: which failed backups it has seen, and outages. */
export interface WatchedInstance {
  instance: string;
  firstSeenAt: number;
  unreachableSince: number | null;
  outageAnnounced: boolean;
}

export class WatchRepo {
  private readonly stmts;

  constructor(private readonly db: Db) {
    this.stmts = {
      get: db.prepare('SELECT * FROM watched_instances WHERE instance = ?'),
      insertInstance: db.prepare(
        'INSERT INTO watched_instances (instance, first_seen_at) VALUES (?, ?) ON CONFLICT (instance) DO NOTHING',
      ),
      markSeen: db.prepare(
        `INSERT INTO seen_failures (instance, backup_id, seen_at, announced) VALUES (?, ?, ?, ?)
         ON CONFLICT (instance, backup_id) DO NOTHING`,
      ),
      setUnreachable: db.prepare(
        'UPDATE watched_instances SET unreachable_since = ? WHERE instance = ? AND unreachable_since IS NULL',
      ),
      announceOutage: db.prepare(
        'UPDATE watched_instances SET outage_announced = 1 WHERE instance = ? AND outage_announced = 0',
      ),
      getLocked: db.prepare(`SELECT * FROM watched_instances WHERE instance = ?${db.forUpdate}`),
      recover: db.prepare(
        'UPDATE watched_instances SET unreachable_since = NULL, outage_announced = 0 WHERE instance = ? AND unreachable_since IS NOT NULL',
      ),
    };
  }

  get(instance: string): WatchedInstance | undefined {
    const r = this.stmts.get.get(instance) as
      | { instance: string; first_seen_at: number; unreachable_since: number | null; outage_announced: number }
      | undefined;
    return r
      ? { instance: r.instance, firstSeenAt: r.first_seen_at, unreachableSince: r.unreachable_since, outageAnnounced: r.outage_announced === 1 }
      : undefined;
  }

  /**
   * Records the instance as seen, with the failures already present then: those are history,
   * not news, and are never announced. Returns true the first time only.
   */
  firstSight(instance: string, existingFailures: number[], at: number): boolean {
    return this.db.transaction(() => {
      if (this.stmts.insertInstance.run(instance, at).changes === 0) return false;
      for (const id of existingFailures) this.stmts.markSeen.run(instance, id, at, 0);
      return true;
    });
  }

  /** True when this failure is new, i.e. the caller should announce it (exactly once). */
  claimFailure(instance: string, backupId: number, at: number): boolean {
    return this.stmts.markSeen.run(instance, backupId, at, 1).changes === 1;
  }

  markUnreachable(instance: string, at: number): void {
    this.stmts.setUnreachable.run(at, instance);
  }

  /** True for the one caller that should announce the outage. */
  claimOutageAnnouncement(instance: string): boolean {
    return this.stmts.announceOutage.run(instance).changes === 1;
  }

  /** Clears the outage; returns whether it had been announced (then recovery is announced too). */
  markReachable(instance: string): boolean {
    // The row held from the read to the write: of two replicas seeing the recovery, one clears it.
    return this.db.transaction(() => {
      const before = this.stmts.getLocked.get(instance) as { unreachable_since: number | null; outage_announced: number } | undefined;
      if (!before || before.unreachable_since === null) return false;
      if (this.stmts.recover.run(instance).changes !== 1) return false;
      return before.outage_announced === 1;
    });
  }
}
