import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Writes what the a9s backup agent logs during a restore, in the seed's two formats: the
 * agent's access log (`- <token> [20/Nov/2018:12:12:30 +0000] "POST /v1/restore HTTP/1.1" 200 21 0.0023`)
 * and Ruby Logger lines (`I, [2018-11-20T12:13:00.939338 #31554] INFO -- : success`).
 * Writes are synchronous so a test that just stepped the simulator can read the file at once.
 */

export type AgentPhase = 'start' | 'progress' | 'success' | 'error';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const TOKEN_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-';

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** `20/Nov/2018:12:12:30 +0000`, always in UTC like the seed. */
export function formatAccessTime(at: Date): string {
  const month = MONTHS[at.getUTCMonth()] ?? 'Jan';
  return `${pad(at.getUTCDate())}/${month}/${at.getUTCFullYear()}:${pad(at.getUTCHours())}:${pad(at.getUTCMinutes())}:${pad(at.getUTCSeconds())} +0000`;
}

/** `2018-11-20T12:13:00.939338`: Ruby prints microseconds; a Date only has milliseconds. */
export function formatLoggerTime(at: Date): string {
  return `${at.toISOString().slice(0, 19)}.${pad(at.getUTCMilliseconds(), 3)}000`;
}

export function accessLine(token: string, at: Date, route: string, bytes: number, seconds: number): string {
  return `- ${token} [${formatAccessTime(at)}] "POST ${route} HTTP/1.1" 200 ${bytes} ${seconds.toFixed(4)}`;
}

export function loggerLine(level: 'INFO' | 'ERROR', at: Date, pid: number, message: string): string {
  return `${level.charAt(0)}, [${formatLoggerTime(at)} #${pid}] ${level} -- : ${message}`;
}

export interface AgentLogOptions {
  /** File to append to; without it lines only go to `onLine`. */
  path?: string;
  now?: () => Date;
  random?: () => number;
  pid?: number;
  onLine?: (line: string) => void;
}

export class AgentLog {
  private readonly tokens = new Map<number, string>();
  private readonly now: () => Date;
  private readonly random: () => number;
  private readonly pid: number;

  constructor(private readonly options: AgentLogOptions = {}) {
    this.now = options.now ?? (() => new Date());
    this.random = options.random ?? Math.random;
    this.pid = options.pid ?? process.pid;
    if (options.path) mkdirSync(dirname(options.path), { recursive: true });
  }

  get path(): string | undefined {
    return this.options.path;
  }

  /** Logs one phase of restore `restoreId`; all its access lines share one request token. */
  restore(restoreId: number, phase: AgentPhase, msg: string | null = null): void {
    const token = this.tokenFor(restoreId);
    const at = this.now();
    const lines: string[] = [];
    switch (phase) {
      case 'start':
        lines.push(accessLine(token, at, '/v1/restore', 21, this.seconds(0.001, 0.004)));
        break;
      case 'progress':
        lines.push(accessLine(token, at, '/v1/order', 13, this.seconds(0.5, 0.9)));
        break;
      case 'success':
        lines.push(accessLine(token, at, '/v1/order', 19, this.seconds(0.5, 0.9)));
        lines.push(loggerLine('INFO', at, this.pid, 'success'));
        // The seed shows the manager still polling after success; a reader must not mind.
        lines.push(accessLine(token, at, '/v1/order', 13, this.seconds(0.5, 0.9)));
        this.tokens.delete(restoreId);
        break;
      case 'error':
        lines.push(accessLine(token, at, '/v1/order', 19, this.seconds(0.5, 0.9)));
        lines.push(loggerLine('ERROR', at, this.pid, msg ?? 'restore failed'));
        this.tokens.delete(restoreId);
        break;
    }
    this.write(lines);
  }

  private write(lines: string[]): void {
    if (this.options.path) appendFileSync(this.options.path, lines.map((l) => `${l}\n`).join(''));
    for (const line of lines) this.options.onLine?.(line);
  }

  private tokenFor(restoreId: number): string {
    let token = this.tokens.get(restoreId);
    if (token === undefined) {
      token = '';
      for (let i = 0; i < 32; i++) token += TOKEN_ALPHABET[Math.floor(this.random() * TOKEN_ALPHABET.length)] ?? 'A';
      this.tokens.set(restoreId, token);
    }
    return token;
  }

  private seconds(min: number, max: number): number {
    return min + this.random() * (max - min);
  }
}
