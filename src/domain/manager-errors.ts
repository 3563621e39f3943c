/**
 * Typed errors of the Backup Manager client. Each carries a `kind` the Slack layer maps to
 * one clear sentence; none carries credentials.
 */

export type BackupManagerErrorKind =
  | 'credentials'
  | 'not_found'
  | 'conflict'
  | 'unavailable'
  | 'bad_response'
  | 'rejected';

export abstract class BackupManagerError extends Error {
  abstract readonly kind: BackupManagerErrorKind;
  constructor(
    message: string,
    /** HTTP status when the manager answered at all. */
    readonly status: number | undefined,
    /** The manager's own `description`, when its error body had one. */
    readonly description: string | undefined,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** 401/403: the password (or user) is wrong. */
export class CredentialsRejectedError extends BackupManagerError {
  readonly kind = 'credentials' as const;
}

/** 404/410: no such instance (or backup). */
export class NotFoundError extends BackupManagerError {
  readonly kind = 'not_found' as const;
}

/** 409/423: e.g. a restore already in progress, or the instance is locked. */
export class ConflictError extends BackupManagerError {
  readonly kind = 'conflict' as const;
}

/** Connection refused, reset, DNS failure, timeout, 502/503/504: worth retrying a read. */
export class UnavailableError extends BackupManagerError {
  readonly kind = 'unavailable' as const;
  constructor(
    message: string,
    status: number | undefined,
    description: string | undefined,
    /** e.g. ECONNREFUSED, UND_ERR_HEADERS_TIMEOUT, HTTP_503. */
    readonly code: string,
  ) {
    super(message, status, description);
  }
}

/** Not JSON, or JSON of an unexpected shape, or a 5xx that is not an outage. */
export class BadResponseError extends BackupManagerError {
  readonly kind = 'bad_response' as const;
  constructor(
    message: string,
    status: number | undefined,
    description: string | undefined,
    /** The start of the body, for the log only (never shown in Slack). */
    readonly bodySnippet: string,
  ) {
    super(message, status, description);
  }
}

/** Any other 4xx, e.g. 422 BackupNonRestorableState. */
export class RejectedError extends BackupManagerError {
  readonly kind = 'rejected' as const;
}

/**
 * The overall budget of a call (all attempts and waits) or of a command ran out. Not worth
 * retrying: the person waiting has been told, and a POST cut off here is ambiguous.
 */
export class DeadlineError extends UnavailableError {
  constructor(
    /** The budget that ran out, for the sentence shown in Slack. */
    readonly deadlineMs: number,
  ) {
    super(`Backup Manager did not answer within ${formatMs(deadlineMs)}`, undefined, undefined, 'DEADLINE');
  }
}

/** `15 s`, `0.6 s`: how long someone waited, as a person says it. */
export function formatMs(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}

/** A certificate or TLS handshake problem: a configuration to fix, not an outage to wait out. */
export function isTlsCode(code: string): boolean {
  return (
    code.startsWith('ERR_TLS_') ||
    code.startsWith('ERR_SSL_') ||
    code.startsWith('CERT_') ||
    code.startsWith('UNABLE_TO_') ||
    code === 'DEPTH_ZERO_SELF_SIGNED_CERT' ||
    code === 'SELF_SIGNED_CERT_IN_CHAIN' ||
    code === 'HOSTNAME_MISMATCH'
  );
}
