import { STATUS_CODES } from 'node:http';
import { BackupManagerError, DeadlineError, formatMs, isTlsCode, type UnavailableError } from '../../domain/manager-errors';
import { message, section, type SlackMessage } from './blocks';
import { code as mrkdwnCode, escapeMrkdwn, truncate } from './format';

/**
 * One clear sentence per cause (spec/backup-manager-api.md, "Errors"); never a stack, never a
 * secret. `plain` leaves the manager's words unescaped, for text that is stored and escaped
 * when it is rendered (escaping twice shows `&amp;lt;` to the reader).
 */
export function managerErrorSentence(err: unknown, instance: string, format: 'mrkdwn' | 'plain' = 'mrkdwn'): string {
  if (!(err instanceof BackupManagerError)) return 'Something went wrong inside the bot; the details are in its log.';
  const esc = format === 'plain' ? (t: string) => t : escapeMrkdwn;
  const code = format === 'plain' ? (t: string) => `\`${t.replace(/`/g, "'")}\`` : mrkdwnCode;
  const detail = err.description ? ` (${esc(truncate(err.description, 300))})` : '';
  switch (err.kind) {
    case 'credentials':
      return 'Backup Manager rejected the credentials. Check BACKUP_MANAGER_PASSWORD(_FILE) against CredHub `/backup_manager_password`.';
    case 'not_found':
      return `No instance ${code(instance)} on the Backup Manager${detail}.`;
    case 'conflict':
      return `A restore of ${code(instance)} is already in progress${detail}.`;
    case 'unavailable':
      return unavailableSentence(err as UnavailableError);
    case 'bad_response':
      // A 200 with a body the bot can not read, or a 500: the status says which.
      return `Got an unexpected answer from the Backup Manager${err.status && err.status >= 300 ? `: it answered ${statusLine(err.status)}` : ''}. The details are in the bot's log.`;
    case 'rejected':
      return `The Backup Manager refused the request${err.status ? ` (HTTP ${err.status})` : ''}${detail}.`;
  }
}

/** `503 Service Unavailable`: the status line as the manager (or its proxy) sent it. */
export function statusLine(status: number): string {
  const reason = STATUS_CODES[status];
  return reason ? `${status} ${reason}` : String(status);
}

const TRY_AGAIN = 'Try again in a moment; during a restore of a9s-pg this is expected.';

/**
 * What happened, as precisely as the bot knows it: an answer with a status is not the same
 * as no answer at all, and an operator at 3 a.m. looks in different places for each.
 */
function unavailableSentence(err: UnavailableError): string {
  if (err instanceof DeadlineError) return `Backup Manager unreachable: it did not answer within ${formatMs(err.deadlineMs)}. ${TRY_AGAIN}`;
  if (err.status !== undefined) {
    const said = err.description && !statusLine(err.status).toLowerCase().includes(err.description.toLowerCase().replace(/^\d{3}\s*/, ''))
      ? ` (${escapeMrkdwn(truncate(err.description, 300))})`
      : '';
    return `The Backup Manager answered ${statusLine(err.status)}${said}. ${TRY_AGAIN}`;
  }
  const c = err.code;
  if (c === 'CLIENT_CLOSED') return 'The bot is shutting down and did not finish asking the Backup Manager. Try again once it is back.';
  if (isTlsCode(c)) {
    return `The Backup Manager's TLS certificate was not accepted (${c}). Check BACKUP_MANAGER_CA_FILE and BACKUP_MANAGER_URL.`;
  }
  const why =
    c === 'ECONNREFUSED'
      ? 'it refused the connection'
      : c === 'ENOTFOUND' || c === 'EAI_AGAIN'
        ? 'its address could not be resolved'
        : /TIMEOUT|ETIMEDOUT/.test(c)
          ? 'it did not answer in time'
          : 'the connection failed';
  return `Backup Manager unreachable: ${why} (${c}). ${TRY_AGAIN}`;
}

export function renderManagerError(err: unknown, instance: string, doing: string): SlackMessage {
  const sentence = managerErrorSentence(err, instance);
  return message(`Could not ${doing}: ${sentence}`, [section(`:warning: Could not ${doing}.\n${sentence}`)]);
}

/** The PostgreSQL store not reachable: no answer in time, no connection, or the server going away (SQLSTATE 08xxx, 57P0x). */
const PG_UNREACHABLE = /^(TIMEOUT|UNAVAILABLE|NO_ANSWER|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|EAI_AGAIN|08[0-9A-Z]{3}|57P0[1-3])$/;

/** The SQLite code when `err` says the bot's state file can not be written now (locked, read-only, full). */
export function storeProblem(err: unknown): string | undefined {
  const { code, name } = typeof err === 'object' && err !== null ? (err as { code?: unknown; name?: unknown }) : {};
  if (typeof code !== 'string') return undefined;
  if (/^SQLITE_(BUSY|LOCKED|READONLY|FULL|IOERR|CANTOPEN|PERM)/.test(code)) return code;
  // Only from the PostgreSQL store's own error type: a manager or Slack call refused on the
  // network has the same codes and is not the store.
  return name === 'PgCallError' && PG_UNREACHABLE.test(code) ? code : undefined;
}


/** What is wrong with the state store, in words, from storeProblem()'s code. */
export function describeStoreProblem(code: string | undefined): string {
  if (code === undefined) return 'refused the write';
  if (code.startsWith('SQLITE_FULL')) return 'is full (no space left for it)';
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) return 'is locked by another process (busy)';
  if (code.startsWith('SQLITE_READONLY') || code.startsWith('SQLITE_PERM')) return 'is read-only';
  if (PG_UNREACHABLE.test(code)) return 'does not answer (the state database is unreachable)';
  return 'can not be written';
}

/**
 * For an error no use case anticipated (e.g. the state file locked by another process): what
 * could not be done, and why in one sentence — never the error's own text or stack.
 */
export function renderInternalError(err: unknown, doing: string): SlackMessage {
  const store = storeProblem(err);
  const sentence = store
    ? `The bot's state store ${PG_UNREACHABLE.test(store) ? 'does not answer' : 'is locked or read-only'} (${store}), so nothing was recorded or started. Try again in a moment.`
    : 'Something went wrong inside the bot; nothing more was done. The details are in its log.';
  return message(`Could not ${doing}: ${sentence}`, [section(`:warning: Could not ${doing}.\n${sentence}`)]);
}
