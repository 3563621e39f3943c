import pino, { type DestinationStream, type Logger } from 'pino';
import { LogLevel as BoltLogLevel, type Logger as BoltLogger } from '@slack/bolt';
import { boundedDestination } from './log-destination';
import { describeThrown } from './process-policy';

export type { Logger } from 'pino';

/** Keys whose values are secrets wherever they sit in a logged object. */
const SECRET_KEYS = [
  'authorization',
  'Authorization',
  'password',
  'token',
  'botToken',
  'appToken',
  'signingSecret',
  'signing_secret',
  'SLACK_BOT_TOKEN',
  'SLACK_APP_TOKEN',
  'SLACK_SIGNING_SECRET',
  'BACKUP_MANAGER_PASSWORD',
  'cookie',
];

const REDACT_PATHS = [
  ...SECRET_KEYS,
  ...SECRET_KEYS.map((k) => `*.${k}`),
  ...SECRET_KEYS.map((k) => `*.*.${k}`),
  'req.headers.authorization',
  'headers.authorization',
  'config.headers.authorization',
  '*.headers.authorization',
  '*.headers["x-slack-signature"]',
];

/** Patterns of secrets that may hide inside free text (an error message, a log-tail line). */
const SECRET_PATTERNS: RegExp[] = [
  /xox[abprs]-[A-Za-z0-9-]+/g,
  /xapp-[A-Za-z0-9-]+/g,
  /(Basic|Bearer)\s+[A-Za-z0-9+/=._-]{6,}/gi,
];

/**
 * user:password@ in a URL keeps the user, loses the password. `"`, `\`, `<` and `>` can not
 * be part of a URL's userinfo; excluding them keeps a match inside one JSON string, so
 * `"http://bm:3000","user":"<@U1>"` is not mistaken for credentials.
 */
const URL_CREDENTIALS = /(\/\/[^/\s:@"\\<>]+:)[^@\s/"\\<>]+@/g;

export const REDACTED = '[REDACTED]';

/** Replaces known secret values and secret-looking patterns in a piece of text. */
export function redactText(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const s of secrets) {
    if (s.length >= 4) out = out.split(s).join(REDACTED);
  }
  for (const p of SECRET_PATTERNS) out = out.replace(p, REDACTED);
  return out.replace(URL_CREDENTIALS, `$1${REDACTED}@`);
}

export interface LoggerOptions {
  level: string;
  /** Known secret values (tokens, password), scrubbed from every line as a last line of defence. */
  secrets?: readonly string[];
  destination?: DestinationStream;
}

/** How a secret appears inside a JSON line: escaped once, or twice when a JSON text was logged as a string. */
function jsonForms(secret: string): string[] {
  const once = JSON.stringify(secret).slice(1, -1);
  const twice = JSON.stringify(once).slice(1, -1);
  return [...new Set([twice, once])];
}

/** Start and end of each top-level `,"component":"…"` member of a JSON line. */
function topLevelComponents(line: string): Array<[number, number]> {
  const spans: Array<[number, number]> = [];
  let depth = 0;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '"') {
      let j = i + 1;
      while (j < line.length && line[j] !== '"') j += line[j] === '\\' ? 2 : 1;
      if (depth === 1 && line[i - 1] === ',' && line.startsWith('"component":"', i)) {
        let k = i + '"component":"'.length;
        while (k < line.length && line[k] !== '"') k += line[k] === '\\' ? 2 : 1;
        spans.push([i - 1, k + 1]);
        j = k;
      }
      i = j;
    } else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
  }
  return spans;
}

/**
 * One `component` per line: a child made with a component on a logger that has one already
 * writes both (pino concatenates bindings). The last one is the most specific; JSON readers
 * keep the last too, so the line means the same without the duplicates.
 */
export function dedupeComponent(line: string): string {
  const first = line.indexOf('"component":');
  if (first === -1 || first === line.lastIndexOf('"component":')) return line;
  const spans = topLevelComponents(line);
  let out = line;
  for (const [from, to] of spans.slice(0, -1).reverse()) out = out.slice(0, from) + out.slice(to);
  return out;
}

/** Keeps of a request or response only what says which one it was: never headers or bodies. */
const SERIALIZERS = {
  err: describeThrown,
  error: describeThrown,
  req: (req: { method?: unknown; url?: unknown }) => ({ method: String(req.method), path: String(req.url ?? '').split('?')[0]?.slice(0, 200) }),
  res: (res: { statusCode?: unknown }) => ({ statusCode: res.statusCode }),
};

export function createLogger(options: LoggerOptions): Logger {
  const secrets = (options.secrets ?? []).flatMap(jsonForms);
  return pino(
    {
      level: options.level,
      base: { name: 'pgbackup-bot' },
      redact: { paths: REDACT_PATHS, censor: REDACTED },
      serializers: SERIALIZERS,
      hooks: {
        // Path redaction misses secrets inside strings (an error message quoting a header, say).
        streamWrite: (line: string) => redactText(dedupeComponent(line), secrets),
      },
    },
    options.destination ?? boundedDestination(process.stdout),
  );
}

const BOLT_TO_PINO: Record<BoltLogLevel, string> = {
  [BoltLogLevel.DEBUG]: 'debug',
  [BoltLogLevel.INFO]: 'info',
  [BoltLogLevel.WARN]: 'warn',
  [BoltLogLevel.ERROR]: 'error',
};

/** JSON of a logged value; a circular or BigInt-holding one must not make logging throw. */
function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

const MAX_BOLT_TEXT = 2000;

/** Lets Bolt and its Web API client log through our pino logger, with its redaction. */
export function boltLogger(logger: Logger): BoltLogger {
  let child = logger.child({ component: 'bolt' });
  const write = (level: 'debug' | 'info' | 'warn' | 'error', msg: unknown[]) => {
    const [first, ...rest] = msg;
    const text = [first, ...rest]
      .map((m) => (typeof m === 'string' ? m : m instanceof Error ? m.message : safeJson(m)))
      .join(' ')
      // Bolt logs whole objects now and then (an error holding the request); a line stays short.
      .slice(0, MAX_BOLT_TEXT);
    child[level](text);
  };
  return {
    debug: (...msg: unknown[]) => write('debug', msg),
    info: (...msg: unknown[]) => write('info', msg),
    warn: (...msg: unknown[]) => write('warn', msg),
    error: (...msg: unknown[]) => write('error', msg),
    setLevel: (level: BoltLogLevel) => {
      // Bolt sets its own default level; ours (LOG_LEVEL) wins unless Bolt asks for more detail.
      if (level === BoltLogLevel.DEBUG) child.level = BOLT_TO_PINO[level];
    },
    getLevel: () => {
      const l = child.level;
      return l === 'debug' || l === 'trace' ? BoltLogLevel.DEBUG : l === 'warn' ? BoltLogLevel.WARN : l === 'error' || l === 'fatal' ? BoltLogLevel.ERROR : BoltLogLevel.INFO;
    },
    setName: (name: string) => {
      child = logger.child({ component: name });
    },
  };
}
