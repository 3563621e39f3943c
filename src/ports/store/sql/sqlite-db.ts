import type Database from 'better-sqlite3';
import type { SqlDb, Statement } from './sql-db';

/** better-sqlite3 already has the layer's shape; this adds the dialect and IMMEDIATE transactions. */
export function sqliteDb(db: Database.Database): SqlDb & { readonly raw: Database.Database } {
  return {
    dialect: 'sqlite',
    raw: db,
    get open() {
      return db.open;
    },
    prepare: (sql) => db.prepare(sql) as unknown as Statement,
    exec: (script) => {
      db.exec(script);
    },
    // Nested calls become savepoints (better-sqlite3 does that for a transaction inside one).
    transaction: <T>(fn: () => T): T => db.transaction(fn).immediate(),
    forUpdate: '',
    close: () => {
      if (db.open) db.close();
    },
  };
}

/** The better-sqlite3 handle under an SQLite store, for what only SQLite has (pragmas). */
export function rawSqlite(db: SqlDb): Database.Database {
  const raw = (db as Partial<{ raw: Database.Database }>).raw;
  if (db.dialect !== 'sqlite' || raw === undefined) throw new Error('not an SQLite store');
  return raw;
}
