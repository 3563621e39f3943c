import { InstanceViewSchema, instanceViewToWire, type InstanceView } from '../backup-manager/schemas';
import type { SqlDb as Db } from './sql/sql-db';

/** The leader's latest read of a watched instance, as kept for every replica's overview. */
export interface StoredRead {
  instance: string;
  /** undefined: the row does not pass the schema (another version wrote it, or it is damaged); shown as not read. */
  view: InstanceView | undefined;
  at: number;
}

/** The manager's health as the leader last knew it: reachable or not, since when. */
export interface StoredHealth {
  up: boolean;
  since: number;
}

interface RawRead {
  instance: string;
  view: string;
  read_at: number;
}

/**
 * What the leader read, in the store: with several replicas only the leader reads, and any
 * replica may be asked for the overview. One row per watched instance, replaced at each read
 * (the watch cadence), and one row of manager health, written when it changes.
 */
export class InstanceReadsRepo {
  private readonly stmts;

  constructor(db: Db) {
    this.stmts = {
      put: db.prepare(
        `INSERT INTO instance_reads (instance, view, read_at) VALUES (?, ?, ?)
         ON CONFLICT (instance) DO UPDATE SET view = excluded.view, read_at = excluded.read_at`,
      ),
      all: db.prepare('SELECT instance, view, read_at FROM instance_reads ORDER BY instance'),
      putHealth: db.prepare(
        `INSERT INTO manager_health (id, up, since) VALUES (1, ?, ?)
         ON CONFLICT (id) DO UPDATE SET up = excluded.up, since = excluded.since`,
      ),
      health: db.prepare('SELECT up, since FROM manager_health WHERE id = 1'),
      forget: db.prepare('DELETE FROM instance_reads WHERE instance = ?'),
    };
  }

  /** `view` of `instance` was read at `at`: it replaces the one before. */
  put(instance: string, view: InstanceView, at: number): void {
    this.stmts.put.run(instance, JSON.stringify(instanceViewToWire(view)), at);
  }

  /** Every instance's latest read, each checked by the manager's schema again. */
  all(): StoredRead[] {
    return (this.stmts.all.all() as RawRead[]).map((r) => ({ instance: r.instance, view: parseView(r.view), at: r.read_at }));
  }

  /** Deletes the reads of instances no longer watched (WATCH_INSTANCES changed); how many went. */
  keepOnly(instances: readonly string[]): number {
    const keep = new Set(instances);
    let gone = 0;
    for (const { instance } of this.stmts.all.all() as RawRead[]) if (!keep.has(instance)) gone += this.stmts.forget.run(instance).changes;
    return gone;
  }

  putHealth(health: StoredHealth): void {
    this.stmts.putHealth.run(health.up ? 1 : 0, health.since);
  }

  /** undefined: no leader recorded the manager's health yet. */
  health(): StoredHealth | undefined {
    const row = this.stmts.health.get() as { up: number; since: number } | undefined;
    return row ? { up: row.up === 1, since: row.since } : undefined;
  }
}

function parseView(text: string): InstanceView | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  const parsed = InstanceViewSchema.safeParse(json);
  return parsed.success ? parsed.data : undefined;
}
