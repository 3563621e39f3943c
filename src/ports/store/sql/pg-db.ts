import type { BindParams, NamedParams, Param, RunResult, SqlDb, Statement } from './sql-db';
import { PgSyncConnection, type PgSession, type PgSyncOptions } from './pg-sync';

/** Turns the layer's `?` and `@name` parameters into PostgreSQL's `$n`, leaving string literals alone. */
export function toPgSql(sql: string): { text: string; order: Array<string | number> } {
  const order: Array<string | number> = [];
  const named = new Map<string, number>();
  let positional = 0;
  let text = '';
  let inString = false;
  for (let i = 0; i < sql.length; i++) {
    const c = sql[i] as string;
    if (c === "'") inString = !inString; // '' inside a literal toggles twice: still inside
    if (inString || (c !== '?' && c !== '@')) {
      text += c;
      continue;
    }
    if (c === '?') {
      order.push(positional++);
      text += `$${order.length}`;
      continue;
    }
    const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(sql.slice(i + 1))?.[0];
    if (!name) {
      text += c;
      continue;
    }
    let slot = named.get(name);
    if (slot === undefined) {
      order.push(name);
      slot = order.length;
      named.set(name, slot);
    }
    text += `$${slot}`;
    i += name.length;
  }
  return { text, order };
}

function bind(order: Array<string | number>, params: BindParams): Param[] {
  const first = params[0];
  const named = params.length === 1 && first !== null && typeof first === 'object' && !Buffer.isBuffer(first) ? (first as NamedParams) : undefined;
  return order.map((slot) => {
    const value = typeof slot === 'number' ? (params as Param[])[slot] : named?.[slot];
    if (value === undefined) throw new Error(`no value for parameter ${String(slot)}`);
    return typeof value === 'bigint' ? value.toString() : value;
  });
}

/** The store on PostgreSQL: the same statements as on SQLite, one connection per process. */
export function pgDb(options: PgSyncOptions): SqlDb {
  const connection = new PgSyncConnection(options);
  let depth = 0;
  let pinned: PgSession | undefined;
  const query = (text: string, params: unknown[]) => connection.query(text, params, depth > 0 ? pinned : undefined);
  const prepare = (sql: string): Statement => {
    const { text, order } = toPgSql(sql);
    const call = (params: BindParams) => query(text, bind(order, params));
    return {
      run: (...params): RunResult => ({ changes: call(params).rowCount }),
      get: (...params) => call(params).rows[0],
      all: (...params) => call(params).rows,
    };
  };
  return {
    dialect: 'postgres',
    get open() {
      return !connection.closed;
    },
    prepare,
    exec: (script) => {
      connection.query(script);
    },
    // The calling thread waits for every statement, so nothing else of this process can slip a
    // statement into the transaction: it is exactly `fn`'s statements.
    transaction: <T>(fn: () => T): T => {
      const savepoint = depth > 0 ? `s${depth}` : undefined;
      if (savepoint) query(`SAVEPOINT ${savepoint}`, []);
      else pinned = connection.query('BEGIN', []).session;
      depth++;
      let result: T;
      try {
        result = fn();
      } catch (err) {
        try {
          query(savepoint ? `ROLLBACK TO SAVEPOINT ${savepoint}` : 'ROLLBACK', []);
        } catch {
          // The connection is gone: the server rolled the transaction back with it.
        } finally {
          depth--;
        }
        throw err;
      }
      try {
        query(savepoint ? `RELEASE SAVEPOINT ${savepoint}` : 'COMMIT', []);
      } finally {
        depth--;
      }
      return result;
    },
    forUpdate: ' FOR UPDATE',
    close: () => connection.close(),
  };
}
