import { readFileSync } from 'node:fs';
import { isPostgresUrl, refuseA9sPgTarget } from './ports/store/state-target';
import { passwordOf } from './ports/pg-url';
import { z } from 'zod';
import { API_MODES, type ApiMode } from './ports/backup-manager/api';

/**
 * The environment contract of spec/behaviour.md. Every variable is validated here, at the
 * edge, and all problems are reported together so an operator fixes them in one go.
 */

const csv = z
  .string()
  .optional()
  .transform((v) =>
    (v ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0),
  );

const positiveInt = (fallback: number) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return fallback;
      const n = Number(v);
      if (!Number.isInteger(n) || n <= 0) {
        ctx.addIssue({ code: 'custom', message: `must be a positive whole number, got "${v}"` });
        return z.NEVER;
      }
      return n;
    });

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

const urlString = (what: string) =>
  optionalString.refine((v) => v === undefined || /^https?:\/\/[^\s/]+/.test(v), {
    message: `must be an http(s) URL (${what})`,
  });

/** A csv of Slack ids, each checked against `pattern`; every bad one is named. */
const idList = (pattern: RegExp, what: string) =>
  csv.superRefine((ids, ctx) => {
    for (const id of ids) {
      if (!pattern.test(id)) ctx.addIssue({ code: 'custom', message: `names "${id.slice(0, 40)}", which is not ${what}` });
    }
  });
const PEOPLE = /^[UWS][A-Z0-9]{2,}$/;
const PEOPLE_WHAT = 'a user id (U…/W…) or a user group id (S…)';

export const RESTORE_REASON_MODES = ['optional', 'required'] as const;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const EnvSchema = z.object({
  SLACK_BOT_TOKEN: optionalString.refine((v) => v === undefined || v.startsWith('xoxb-') || v.startsWith('xoxp-'), {
    message: 'must be a bot token starting with xoxb-',
  }),
  SLACK_SIGNING_SECRET: optionalString,
  SLACK_APP_TOKEN: optionalString.refine((v) => v === undefined || v.startsWith('xapp-'), {
    message: 'must be an app-level token starting with xapp-',
  }),
  SLACK_API_URL: urlString('e.g. https://slack.com/api/').transform((v) =>
    v === undefined ? undefined : v.endsWith('/') ? v : `${v}/`,
  ),
  SLACK_TIMEOUT_MS: positiveInt(10_000),
  PORT: positiveInt(3000).refine((n) => n < 65536, { message: 'must be a TCP port (1-65535)' }),
  BACKUP_MANAGER_URL: urlString('e.g. http://backup-manager.service.dc1.consul:3000').refine(
    (v) => v === undefined || !/^https?:\/\/[^/]*@/.test(v),
    { message: 'must not carry credentials; use BACKUP_MANAGER_USERNAME and BACKUP_MANAGER_PASSWORD(_FILE)' },
  ),
  BACKUP_MANAGER_USERNAME: optionalString.transform((v) => v ?? 'admin'),
  BACKUP_MANAGER_PASSWORD: optionalString,
  BACKUP_MANAGER_PASSWORD_FILE: optionalString,
  BACKUP_MANAGER_CA_FILE: optionalString,
  BACKUP_MANAGER_API: optionalString
    .transform((v) => (v ?? 'auto').toLowerCase())
    .refine((v) => (API_MODES as readonly string[]).includes(v), { message: `must be one of ${API_MODES.join(', ')}` }),
  DEFAULT_INSTANCE: optionalString.transform((v) => v ?? 'a9s-pg'),
  ALLOWED_INSTANCES: csv,
  NOTIFY_CHANNEL: optionalString,
  WATCH_INSTANCES: csv,
  RESTORE_APPROVERS: idList(PEOPLE, PEOPLE_WHAT),
  ALLOWED_CHANNELS: idList(/^[CGD][A-Z0-9]{2,}$/, 'a channel id (C…/G…)'),
  OPERATORS: idList(PEOPLE, PEOPLE_WHAT),
  RESTORE_REASON: optionalString
    .transform((v) => (v ?? 'optional').toLowerCase())
    .refine((v) => (RESTORE_REASON_MODES as readonly string[]).includes(v), { message: `must be one of ${RESTORE_REASON_MODES.join(', ')}` }),
  RESTORE_REJECTIONS: positiveInt(1),
  RESTORE_APPROVALS: positiveInt(1),
  APPROVAL_TTL_MS: positiveInt(3_600_000),
  POLL_INTERVAL_MS: positiveInt(5_000),
  WATCH_INTERVAL_MS: positiveInt(60_000),
  // Hours may be fractional (e.g. 0.5 to try the alarm out).
  STALE_AFTER_HOURS: z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return 26;
      const n = Number(v);
      if (!Number.isFinite(n) || n <= 0) {
        ctx.addIssue({ code: 'custom', message: `must be a positive number of hours, got "${v}"` });
        return z.NEVER;
      }
      return n;
    }),
  MANAGER_CONCURRENCY: positiveInt(4),
  STATE_DB: optionalString.transform((v) => v ?? './data/pgbackup.sqlite'),
  STATE_DB_PASSWORD_FILE: optionalString,
  RESTORE_TIMEOUT_MS: positiveInt(7_200_000),
  SLACK_CHANNEL_INTERVAL_MS: z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return 1000;
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0) {
        ctx.addIssue({ code: 'custom', message: `must be a whole number of milliseconds, got "${v}"` });
        return z.NEVER;
      }
      return n;
    }),
  LOG_TAIL_FILE: optionalString,
  LOG_TAIL_COMMAND: optionalString,
  /** Shown in Slack as the follow-up's source instead of the command (which may hold secrets). */
  LOG_TAIL_LABEL: optionalString.refine((v) => v === undefined || v.length <= 100, { message: 'must be at most 100 characters' }),
  LOG_LEVEL: optionalString
    .transform((v) => (v ?? 'info').toLowerCase())
    .refine((v) => (LOG_LEVELS as readonly string[]).includes(v), {
      message: `must be one of ${LOG_LEVELS.join(', ')}`,
    }),
});

export type LogLevel = (typeof LOG_LEVELS)[number];

export interface SlackConfig {
  botToken: string;
  signingSecret: string | undefined;
  appToken: string | undefined;
  apiUrl: string | undefined;
}

export interface BackupManagerConfig {
  url: string;
  username: string;
  password: string;
  caFile: string | undefined;
}

export interface Config {
  /** 'sandbox' when neither Slack nor a Backup Manager is configured: everything runs locally. */
  mode: 'production' | 'sandbox';
  slack: SlackConfig | undefined;
  backupManager: BackupManagerConfig | undefined;
  /** Which route generation to speak: `auto` finds out at start and again after an outage. */
  backupManagerApi: ApiMode;
  port: number;
  defaultInstance: string;
  /** Empty means every instance is allowed. */
  allowedInstances: string[];
  notifyChannel: string | undefined;
  watchInstances: string[];
  /** User ids and user group ids (S…) who may approve or reject; empty: anyone but the requester. */
  restoreApprovers: string[];
  restoreApprovals: number;
  /** Channel ids where commands and buttons are accepted; empty: every channel. */
  allowedChannels: string[];
  /** User ids and user group ids (S…) who may run `now` and request restores; empty: anyone. */
  operators: string[];
  restoreReason: (typeof RESTORE_REASON_MODES)[number];
  /** Rejections that end a restore request. */
  restoreRejections: number;
  approvalTtlMs: number;
  pollIntervalMs: number;
  /** Most Backup Manager reads in flight at once (the one instance reader). */
  managerConcurrency: number;
  watchIntervalMs: number;
  /** A watched instance with no `done` backup for this long is announced once (STALE_AFTER_HOURS). */
  staleAfterHours: number;
  /** An SQLite file, or a `postgres://` URL shared by several replicas. */
  stateDb: string;
  /** The PostgreSQL password, from STATE_DB_PASSWORD_FILE (kept out of the URL and the logs). */
  stateDbPassword: string | undefined;
  /** How long a restore is followed before the bot gives up waiting for its end. */
  restoreTimeoutMs: number;
  /** Spacing of Slack writes in one channel (Slack allows about one message per second). */
  channelIntervalMs: number;
  /** How long one Slack Web API call may take before it counts as unanswered. */
  slackTimeoutMs: number;
  logTailFile: string | undefined;
  logTailCommand: string | undefined;
  logTailLabel: string | undefined;
  logLevel: LogLevel;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

/**
 * Reads and validates the environment. Throws one ConfigError listing every problem.
 * Messages name variables, never their values, so a secret can not leak through an error.
 */
export function loadConfig(env: Env = process.env, readFile: (path: string) => string = (p) => readFileSync(p, 'utf8')): Config {
  const problems: string[] = [];
  const parsed = EnvSchema.safeParse(env);
  const invalid = new Set<string>();
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const name = String(issue.path[0] ?? 'environment');
      invalid.add(name);
      problems.push(`${name} ${issue.message}`);
    }
  }
  // With some variables invalid, the checks across variables below still run on the others
  // (an invalid one counts as set but unusable), so every problem is reported in one go.
  const rest = parsed.success ? parsed : EnvSchema.safeParse(Object.fromEntries(Object.entries(env).filter(([k]) => !invalid.has(k))));
  if (!rest.success) throw new ConfigError(problems);
  const e = rest.data;
  const given = (name: keyof typeof e) => (invalid.has(name) ? (env[name] ?? '').trim() !== '' : e[name] !== undefined);

  /** A secret from a file, trimmed; an empty or unreadable one is a problem named after its variable. */
  const secretFile = (name: string, path: string): string | undefined => {
    try {
      const secret = readFile(path).trim();
      if (secret === '') problems.push(`${name} points to an empty file`);
      return secret;
    } catch (err) {
      problems.push(`${name} can not be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
      return undefined;
    }
  };

  let password = e.BACKUP_MANAGER_PASSWORD;
  if (e.BACKUP_MANAGER_PASSWORD && e.BACKUP_MANAGER_PASSWORD_FILE) {
    problems.push('set only one of BACKUP_MANAGER_PASSWORD and BACKUP_MANAGER_PASSWORD_FILE');
  } else if (e.BACKUP_MANAGER_PASSWORD_FILE) {
    password = secretFile('BACKUP_MANAGER_PASSWORD_FILE', e.BACKUP_MANAGER_PASSWORD_FILE);
  }
  if (e.BACKUP_MANAGER_CA_FILE) {
    try {
      readFile(e.BACKUP_MANAGER_CA_FILE);
    } catch (err) {
      problems.push(`BACKUP_MANAGER_CA_FILE can not be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }

  const hasSlack = given('SLACK_BOT_TOKEN');
  const hasManager = given('BACKUP_MANAGER_URL');
  const mode = !hasSlack && !hasManager ? 'sandbox' : 'production';

  if (mode === 'production') {
    if (!hasSlack) problems.push('SLACK_BOT_TOKEN is required when BACKUP_MANAGER_URL is set (unset both to run the local sandbox)');
    if (!hasManager) problems.push('BACKUP_MANAGER_URL is required when SLACK_BOT_TOKEN is set (unset both to run the local sandbox)');
    if (hasSlack && !given('SLACK_APP_TOKEN') && !given('SLACK_SIGNING_SECRET')) {
      problems.push('SLACK_SIGNING_SECRET is required in HTTP mode (or set SLACK_APP_TOKEN for Socket Mode)');
    }
    if (hasManager && password === undefined && !e.BACKUP_MANAGER_PASSWORD_FILE) {
      problems.push('BACKUP_MANAGER_PASSWORD or BACKUP_MANAGER_PASSWORD_FILE is required');
    }
  }
  let stateDbPassword: string | undefined;
  if (e.STATE_DB_PASSWORD_FILE) {
    if (!isPostgresUrl(e.STATE_DB)) problems.push('STATE_DB_PASSWORD_FILE is only for a postgres:// STATE_DB');
    stateDbPassword = secretFile('STATE_DB_PASSWORD_FILE', e.STATE_DB_PASSWORD_FILE);
  }
  const stateProblem = refuseA9sPgTarget(e.STATE_DB);
  if (stateProblem) problems.push(stateProblem);
  if (e.LOG_TAIL_FILE && e.LOG_TAIL_COMMAND) problems.push('set only one of LOG_TAIL_FILE and LOG_TAIL_COMMAND');
  if (e.ALLOWED_INSTANCES.length > 0 && !e.ALLOWED_INSTANCES.includes(e.DEFAULT_INSTANCE)) {
    problems.push('DEFAULT_INSTANCE must be one of ALLOWED_INSTANCES');
  }
  for (const w of e.WATCH_INSTANCES) {
    if (e.ALLOWED_INSTANCES.length > 0 && !e.ALLOWED_INSTANCES.includes(w)) {
      problems.push(`WATCH_INSTANCES names "${w}", which is not in ALLOWED_INSTANCES`);
    }
  }
  // The requester can not approve their own request, so each approval needs another listed
  // person. A user group's size is only known at run time: with a group listed, nothing to check.
  if (e.RESTORE_APPROVERS.length > 0 && !e.RESTORE_APPROVERS.some((id) => id.startsWith('S')) && e.RESTORE_APPROVALS > new Set(e.RESTORE_APPROVERS).size) {
    problems.push(
      `RESTORE_APPROVALS is ${e.RESTORE_APPROVALS} but RESTORE_APPROVERS lists only ${new Set(e.RESTORE_APPROVERS).size}: no restore could ever be approved`,
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);

  return {
    mode,
    slack: hasSlack
      ? { botToken: e.SLACK_BOT_TOKEN as string, signingSecret: e.SLACK_SIGNING_SECRET, appToken: e.SLACK_APP_TOKEN, apiUrl: e.SLACK_API_URL }
      : undefined,
    backupManager: hasManager
      ? { url: (e.BACKUP_MANAGER_URL as string).replace(/\/+$/, ''), username: e.BACKUP_MANAGER_USERNAME, password: password as string, caFile: e.BACKUP_MANAGER_CA_FILE }
      : undefined,
    backupManagerApi: e.BACKUP_MANAGER_API as ApiMode,
    port: e.PORT,
    defaultInstance: e.DEFAULT_INSTANCE,
    allowedInstances: e.ALLOWED_INSTANCES,
    notifyChannel: e.NOTIFY_CHANNEL,
    watchInstances: e.WATCH_INSTANCES.length > 0 ? e.WATCH_INSTANCES : [e.DEFAULT_INSTANCE],
    restoreApprovers: e.RESTORE_APPROVERS,
    restoreApprovals: e.RESTORE_APPROVALS,
    allowedChannels: e.ALLOWED_CHANNELS,
    operators: e.OPERATORS,
    restoreReason: e.RESTORE_REASON as Config['restoreReason'],
    restoreRejections: e.RESTORE_REJECTIONS,
    approvalTtlMs: e.APPROVAL_TTL_MS,
    pollIntervalMs: e.POLL_INTERVAL_MS,
    managerConcurrency: e.MANAGER_CONCURRENCY,
    watchIntervalMs: e.WATCH_INTERVAL_MS,
    staleAfterHours: e.STALE_AFTER_HOURS,
    stateDb: e.STATE_DB,
    stateDbPassword,
    restoreTimeoutMs: e.RESTORE_TIMEOUT_MS,
    channelIntervalMs: e.SLACK_CHANNEL_INTERVAL_MS,
    slackTimeoutMs: e.SLACK_TIMEOUT_MS,
    logTailFile: e.LOG_TAIL_FILE,
    logTailCommand: e.LOG_TAIL_COMMAND,
    logTailLabel: e.LOG_TAIL_LABEL,
    logLevel: e.LOG_LEVEL as LogLevel,
  };
}

/** Secret values of a config, for redaction of free text (e.g. a log-tail line). */
export function secretsOf(config: Config): string[] {
  return [config.slack?.botToken, config.slack?.signingSecret, config.slack?.appToken, config.backupManager?.password, config.stateDbPassword, passwordOf(config.stateDb)].filter(
    (s): s is string => typeof s === 'string' && s.length >= 4,
  );
}
