import { AuditRepo } from './audit';
import { openDatabase, type Db, type OpenOptions } from './db';
import { WatchRepo } from './failures';
import { IntentsRepo } from './intents';
import { OutboxJobsRepo } from './outbox-jobs';
import { RestoresRepo } from './restores';
import { SeenRequestsRepo } from './seen-requests';
import { StalenessRepo } from './staleness';
import { TasksRepo } from './tasks';

export * from './audit';
export * from './failures';
export * from './intents';
export * from './outbox-jobs';
export * from './restores';
export * from './seen-requests';
export * from './staleness';
export * from './tasks';

/** The bot's durable state, one SQLite file (or `:memory:` in tests). */
export interface Store {
  readonly db: Db;
  readonly tasks: TasksRepo;
  readonly restores: RestoresRepo;
  readonly watch: WatchRepo;
  readonly audit: AuditRepo;
  readonly outbox: OutboxJobsRepo;
  readonly seen: SeenRequestsRepo;
  readonly intents: IntentsRepo;
  readonly staleness: StalenessRepo;
  /**
   * Proves the store can still take a write: writes a row that needs fresh pages (about what
   * tracking a backup takes), so a full disk (SQLITE_FULL) or a locked or read-only file throws
   * here. `busyMs` caps the wait for a lock (readiness must not block the event loop long).
   */
  probeWrite(at: number, busyMs?: number): void;
  /** Runs `fn` in one transaction: all of its writes land, or none. */
  transaction<T>(fn: () => T): T;
  close(): void;
}

export type { OpenOptions as StoreOptions } from './db';

export function openStore(path: string, options: OpenOptions = {}): Store {
  const db = openDatabase(path, options);
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
    probeWrite: writeProbe(db),
    transaction: <T>(fn: () => T): T => db.transaction(fn)(),
    close: () => {
      if (db.open) db.close();
    },
  };
}

/** A bit more than two pages: an insert that can not be served from a page already half full. */
const PROBE_BYTES = 9000;

function writeProbe(db: Db): (at: number, busyMs?: number) => void {
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
