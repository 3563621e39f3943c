import type { SqlDb as Db } from './sql/sql-db';

/** A backup POST the bot was about to send (or sent) and whose outcome it has not recorded yet. */
export interface BackupIntent {
  id: number;
  instance: string;
  requester: string;
  channel: string;
  /** Ids of the instance's backups that existed before the POST: any other one may be ours. */
  knownIds: number[];
  createdAt: number;
}

interface Row {
  id: number;
  instance: string;
  requester: string;
  channel: string;
  known_ids: string;
  created_at: number;
}

const toIntent = (r: Row): BackupIntent => ({
  id: r.id,
  instance: r.instance,
  requester: r.requester,
  channel: r.channel,
  knownIds: (JSON.parse(r.known_ids) as unknown[]).filter((n): n is number => typeof n === 'number'),
  createdAt: r.created_at,
});

export interface NewIntent {
  instance: string;
  requester: string;
  channel: string;
  knownIds: number[];
  at: number;
}

/** Written before a backup POST and closed once its outcome is stored: an open one after a restart is unfinished business. */
export class IntentsRepo {
  private readonly stmts;

  constructor(db: Db) {
    this.stmts = {
      insert: db.prepare(
        'INSERT INTO backup_intents (instance, requester, channel, known_ids, created_at) VALUES (@instance, @requester, @channel, @knownIds, @at) RETURNING id',
      ),
      close: db.prepare('UPDATE backup_intents SET closed_at = ? WHERE id = ? AND closed_at IS NULL'),
      open: db.prepare('SELECT * FROM backup_intents WHERE closed_at IS NULL AND created_at <= ? ORDER BY id'),
    };
  }

  /** Throws (SQLITE_FULL, SQLITE_BUSY, …) when the store can not take it: then nothing may be started. */
  open(intent: NewIntent): BackupIntent {
    const row = this.stmts.insert.get({ ...intent, knownIds: JSON.stringify(intent.knownIds) }) as { id: number };
    return { id: row.id, instance: intent.instance, requester: intent.requester, channel: intent.channel, knownIds: intent.knownIds, createdAt: intent.at };
  }

  /** Marks the intent's outcome as recorded; false when it already was (someone else reconciled it). */
  close(id: number, at: number): boolean {
    return this.stmts.close.run(at, id).changes === 1;
  }

  /** Open intents written at or before `createdBefore` (default: all). */
  listOpen(createdBefore = Number.MAX_SAFE_INTEGER): BackupIntent[] {
    return (this.stmts.open.all(createdBefore) as Row[]).map(toIntent);
  }
}
