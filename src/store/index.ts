import { AuditRepo } from './audit';
import { openDatabase, type Db, type OpenOptions } from './db';
import { WatchRepo } from './failures';
import { OutboxJobsRepo } from './outbox-jobs';
import { RestoresRepo } from './restores';
import { TasksRepo } from './tasks';

export * from './audit';
export * from './failures';
export * from './outbox-jobs';
export * from './restores';
export * from './tasks';

/** The bot's durable state, one SQLite file (or `:memory:` in tests). */
export interface Store {
  readonly db: Db;
  readonly tasks: TasksRepo;
  readonly restores: RestoresRepo;
  readonly watch: WatchRepo;
  readonly audit: AuditRepo;
  readonly outbox: OutboxJobsRepo;
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
    transaction: <T>(fn: () => T): T => db.transaction(fn)(),
    close: () => {
      if (db.open) db.close();
    },
  };
}
