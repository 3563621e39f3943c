import { followCommand, type CommandExit } from './follow-command';
import { followFile } from './follow-file';
import type { Follower } from './follower';
import { truncate } from '../../domain/text';

/** Where the backup agent writes, on the a9s-pg master VM. */
import { AGENT_LOG_PATH } from '../../domain/constants';

export { AGENT_LOG_PATH };

export interface LogSourceConfig {
  /** LOG_TAIL_FILE */
  file?: string;
  /** LOG_TAIL_COMMAND */
  command?: string;
}

export interface LogSourceHandlers {
  onLines(lines: string[]): void;
  onError?(e: Error): void;
  /** Command sources only: the command ended (a file source never ends by itself). */
  onExit?(exit: CommandExit): void;
  /** File sources only: existing lines to show first. */
  initialLines?: number;
  /** File sources only: the first look at the file is done; lines written from now on are all seen. */
  onReady?(): void;
  pollMs?: number;
  graceMs?: number;
}

export interface LogSource extends Follower {
  kind: 'file' | 'command';
}

/**
 * Opens the configured source, or returns undefined when none is configured. Config
 * validation rejects setting both; should both arrive anyway, the file wins as it needs no
 * child process.
 */
export function openLogSource(config: LogSourceConfig, handlers: LogSourceHandlers): LogSource | undefined {
  const file = config.file?.trim();
  const command = config.command?.trim();
  if (file) {
    const follower = followFile(file, {
      onLines: handlers.onLines,
      onError: handlers.onError,
      pollMs: handlers.pollMs,
      initialLines: handlers.initialLines,
      onReady: handlers.onReady,
    });
    return { kind: 'file', stop: () => follower.stop() };
  }
  if (command) {
    const follower = followCommand(command, {
      env: withoutSecrets(process.env),
      onLines: handlers.onLines,
      onError: handlers.onError,
      onExit: handlers.onExit,
      graceMs: handlers.graceMs,
    });
    return { kind: 'command', stop: () => follower.stop() };
  }
  return undefined;
}

/** The child needs BOSH's settings, not the bot's tokens or the manager's password. */
export function withoutSecrets(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(env)) {
    if (/^SLACK_/.test(k) || /^BACKUP_MANAGER_PASSWORD/.test(k)) continue;
    out[k] = v;
  }
  return out;
}

/** Longest source name shown in Slack. */
const SOURCE_SHOWN_CHARS = 60;

/**
 * What the follow-up names as its log source. LOG_TAIL_LABEL when set. A file's path is shown
 * (it holds no secret). A command is not: it may carry a password or token (`bosh` with
 * `BOSH_CLIENT_SECRET=…`, a URL with credentials), and no pattern list can recognise every
 * one. Only its program's name is shown, so nothing after it can leak.
 */
export function describeLogSource(config: LogSourceConfig & { label?: string }): string | null {
  const label = config.label?.trim();
  if (label) return truncate(label, SOURCE_SHOWN_CHARS);
  const file = config.file?.trim();
  if (file) return truncate(file, SOURCE_SHOWN_CHARS);
  const command = config.command?.trim();
  if (!command) return null;
  // Leading `NAME=value` words are environment settings, often the very secrets.
  const program = command.split(/\s+/).find((w) => !/^[A-Za-z_][A-Za-z0-9_]*=/.test(w)) ?? '';
  const name = program.replace(/^.*\//, '').replace(/[^A-Za-z0-9._-].*$/, '');
  return `${truncate(name || 'command', 30)} … (LOG_TAIL_COMMAND; set LOG_TAIL_LABEL to name it)`;
}
