/**
 * The one SQL layer under the store's repositories: the same statements run on SQLite (one bot,
 * embedded) and on PostgreSQL (N replicas). Its shape is better-sqlite3's, synchronous: the
 * store's callers rely on a state change and its outbox jobs being one atomic step with no
 * await in between, and on SQLite that is what they get. The PostgreSQL side keeps that shape
 * through a worker thread (pg-sync.ts); every call there is bounded by a deadline.
 *
 * Portable SQL only: `?` or `@name` parameters, `ON CONFLICT`, `RETURNING`, `COALESCE`. What
 * differs is behind `dialect` (the schema, the write probe, row locks).
 */
export type Dialect = 'sqlite' | 'postgres';

export type Param = string | number | bigint | null | Buffer;
export type NamedParams = Record<string, Param>;
export type BindParams = Param[] | [NamedParams];

export interface RunResult {
  changes: number;
}

export interface Statement {
  run(...params: BindParams): RunResult;
  get(...params: BindParams): unknown;
  all(...params: BindParams): unknown[];
}

export interface SqlDb {
  readonly dialect: Dialect;
  /** False once closed. */
  readonly open: boolean;
  prepare(sql: string): Statement;
  /** Runs a script of several statements without parameters (migrations). */
  exec(script: string): void;
  /**
   * Runs `fn` in one transaction (nested calls become savepoints): all of its writes land, or
   * none. On SQLite it takes the write lock at once (BEGIN IMMEDIATE).
   */
  transaction<T>(fn: () => T): T;
  /**
   * Appended to a SELECT inside a transaction to lock the rows it reads until the end (PostgreSQL
   * `FOR UPDATE`); empty on SQLite, whose IMMEDIATE transaction already holds the write lock.
   */
  readonly forUpdate: string;
  close(): void;
}

/**
 * The fencing condition of a leader's effect: true only while `@epoch` is still the newest
 * leadership. A leader that lost its lock without noticing yet finds a newer epoch here and its
 * write changes nothing. On SQLite (one bot, no leadership row) the epoch is 0.
 */
export const LEADER_EPOCH_IS = 'COALESCE((SELECT epoch FROM leadership WHERE id = 1), 0) = @epoch';

/** A write refused because a unique key or index already holds the value, in either dialect. */
export function isUniqueViolation(err: unknown): boolean {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === '23505';
}
