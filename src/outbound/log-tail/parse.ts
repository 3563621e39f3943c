/**
 * Parsing of backup-agent log lines (`/var/vcap/sys/log/backup-agent/production.log`).
 * Pure functions only: the followers deliver physical lines, this module gives them meaning.
 */

/** Ruby Logger severity letters: Debug, Info, Warn, Error, Fatal, Any (Ruby's UNKNOWN). */
export type Severity = 'D' | 'I' | 'W' | 'E' | 'F' | 'A';

export interface AccessLine {
  kind: 'access';
  raw: string;
  /** The token in the user field (the agent logs a request id there). */
  client: string;
  /** As logged, e.g. `20/Nov/2018:12:12:30 +0000`. */
  time: string;
  method: string;
  path: string;
  status: number;
  bytes: number | undefined;
  durationSeconds: number | undefined;
}

export interface LoggerLine {
  kind: 'logger';
  raw: string;
  severity: Severity;
  /** The spelled-out level, e.g. `INFO`; Ruby pads it to five characters, the padding is dropped. */
  level: string;
  /** ISO-8601 without zone, as Ruby's Logger writes it. */
  time: string;
  pid: number;
  progname: string;
  message: string;
}

export interface TextLine {
  kind: 'text';
  raw: string;
}

export type AgentLine = AccessLine | LoggerLine | TextLine;

export type Outcome = 'success' | 'failure';

const ACCESS =
  /^- (\S+) \[([^\]]+)\] "([A-Z]+) (\S+)(?: [^"]*)?" (\d{3}) (\d+|-)(?: (\d+(?:\.\d+)?))?\s*$/;

const LOGGER = /^([DIWEFA]), \[(\S+) #(\d+)\]\s+([A-Za-z]+) -- (.*?):(?: (.*))?$/;

/**
 * Where a new record starts inside a physical line. The published sample of this log has
 * several records run together on one line, so the start patterns are matched anywhere
 * after whitespace; they are specific (a bracketed timestamp right after) so that ordinary
 * message text does not split.
 */
const RECORD_START =
  /\s+(?=- \S+ \[\d{2}\/[A-Za-z]{3}\/\d{4}:\d{2}:\d{2}:\d{2}|[DIWEFA], \[\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})/;

/** Parses one log record. A physical line holding several records parses as its first kind only; use {@link parseAgentLines}. */
export function parseAgentLine(line: string): AgentLine {
  const raw = stripEol(line);
  const access = ACCESS.exec(raw);
  if (access) {
    const [, client, time, method, path, status, bytes, duration] = access;
    return {
      kind: 'access',
      raw,
      client: client ?? '',
      time: time ?? '',
      method: method ?? '',
      path: path ?? '',
      status: Number(status),
      bytes: bytes === undefined || bytes === '-' ? undefined : Number(bytes),
      durationSeconds: duration === undefined ? undefined : Number(duration),
    };
  }
  const logger = LOGGER.exec(raw);
  if (logger) {
    const [, severity, time, pid, level, progname, message] = logger;
    return {
      kind: 'logger',
      raw,
      severity: severity as Severity,
      level: (level ?? '').toUpperCase(),
      time: time ?? '',
      pid: Number(pid),
      progname: progname ?? '',
      message: message ?? '',
    };
  }
  return { kind: 'text', raw };
}

/** Splits a physical line into its log records (usually exactly one). */
export function splitRecords(line: string): string[] {
  const raw = stripEol(line);
  const parts = raw.split(RECORD_START);
  return parts.length === 1 ? [raw] : parts.filter((p) => p.length > 0);
}

/** Parses every record of a physical line. */
export function parseAgentLines(line: string): AgentLine[] {
  return splitRecords(line).map(parseAgentLine);
}

/**
 * What a line says about the restore: a logger record at ERROR/FATAL is a failure, an INFO
 * record whose message is `success` is a success. A string may hold several records; the
 * first one with an outcome wins.
 */
export function outcomeOf(line: string | AgentLine): Outcome | undefined {
  if (typeof line === 'string') {
    for (const record of parseAgentLines(line)) {
      const outcome = outcomeOfRecord(record);
      if (outcome) return outcome;
    }
    return undefined;
  }
  return outcomeOfRecord(line);
}

function outcomeOfRecord(record: AgentLine): Outcome | undefined {
  if (record.kind !== 'logger') return undefined;
  if (record.severity === 'E' || record.severity === 'F' || record.level === 'ERROR' || record.level === 'FATAL') {
    return 'failure';
  }
  const isInfo = record.severity === 'I' || record.level === 'INFO';
  if (isInfo && record.message.trim().toLowerCase() === 'success') return 'success';
  return undefined;
}

/** True for the access record of the request that starts a restore on the agent. */
export function isRestoreRequest(record: AgentLine): boolean {
  return record.kind === 'access' && record.method === 'POST' && /^\/v\d+\/restore(?:[/?]|$)/.test(record.path);
}

function stripEol(line: string): string {
  return line.replace(/\r?\n$/, '').replace(/\r$/, '');
}

const MONTHS: Readonly<Record<string, number>> = { Jan: 0, Feb: 1, Mar: 2, Apr: 3, May: 4, Jun: 5, Jul: 6, Aug: 7, Sep: 8, Oct: 9, Nov: 10, Dec: 11 };

/**
 * When a record was logged, in epoch ms, or undefined for text lines and unreadable times.
 * Logger times carry no zone; BOSH VMs log in UTC, so they are read as UTC.
 */
export function recordTime(record: AgentLine): number | undefined {
  if (record.kind === 'logger') {
    const t = Date.parse(`${record.time.replace(/(\.\d{3})\d*$/, '$1')}Z`);
    return Number.isNaN(t) ? undefined : t;
  }
  if (record.kind === 'access') {
    const m = /^(\d{2})\/([A-Za-z]{3})\/(\d{4}):(\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})$/.exec(record.time);
    const month = m ? MONTHS[m[2] as string] : undefined;
    if (!m || month === undefined) return undefined;
    const offset = (m[7] === '-' ? -1 : 1) * (Number(m[8]) * 60 + Number(m[9])) * 60_000;
    return Date.UTC(Number(m[3]), month, Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6])) - offset;
  }
  return undefined;
}
