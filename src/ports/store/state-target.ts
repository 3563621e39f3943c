import { StartupError } from '../../startup-error';

/** STATE_DB names a PostgreSQL database (several replicas) rather than an SQLite file. */
export function isPostgresUrl(target: string): boolean {
  return /^postgres(ql)?:\/\//i.test(target);
}

/** The target without its password, for logs and errors. */
export function describeStateTarget(target: string): string {
  if (!isPostgresUrl(target)) return target;
  try {
    const url = new URL(target);
    url.password = '';
    url.search = '';
    return url.toString();
  } catch {
    return 'postgres://(unreadable URL)';
  }
}

/**
 * The state must never live in the a9s-pg the bot restores: a restore of a9s-pg rolls the
 * bot's own records back (the request, its approvals, the audit) and the manager is down
 * meanwhile. The bot can not see a9s-pg's address, so it refuses what names it: a host or
 * database called a9s-pg (a9s_pg), the platform's usual naming.
 */
export function refuseA9sPgTarget(target: string): string | undefined {
  if (!isPostgresUrl(target)) return undefined;
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    return 'STATE_DB is not a valid postgres:// URL';
  }
  const names = [url.hostname, decodeURIComponent(url.pathname.replace(/^\//, ''))];
  if (names.some((n) => /a9s[-_]?pg/i.test(n))) {
    return `STATE_DB ${describeStateTarget(target)} points at a9s-pg: the bot's state must not live in the database it restores (a restore of a9s-pg would roll back the bot's own records of it). Use a PostgreSQL of its own.`;
  }
  return undefined;
}

/** Why the PostgreSQL state database can not be used, in words an operator acts on; never the password. */
export function describePgOpenError(target: string, err: unknown): StartupError {
  const code = (err as { code?: unknown }).code;
  const message = err instanceof Error ? err.message : String(err);
  const at = `STATE_DB ${describeStateTarget(target)}`;
  if (code === '28P01' || code === '28000') return new StartupError(`${at}: the server refused the login (${String(code)}); check the user and STATE_DB_PASSWORD_FILE`);
  if (code === '3D000') return new StartupError(`${at}: no such database (3D000); create it first`);
  if (code === '42501') return new StartupError(`${at}: the user may not create the bot's tables (42501)`);
  return new StartupError(`${at} can not be used: ${message}${typeof code === 'string' ? ` (${code})` : ''}`);
}
