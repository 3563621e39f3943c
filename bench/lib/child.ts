import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { freePort, httpRequest, sleep } from './http';

/** The checkout, seen from the compiled bench/lib (.bench-build/bench/lib). */
export const REPO_ROOT = resolve(__dirname, '..', '..', '..');
/** The bot as `npm run build` compiles it (`npm run bench` builds first). */
export const DIST_MAIN = join(REPO_ROOT, 'dist', 'main.js');

export interface ChildServer {
  child: ChildProcess;
  pid: number;
  url: string;
  /** Last lines the child wrote to stderr, for error messages. */
  stderr(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>;
  /** SIGKILL: no shutdown handler runs, nothing is drained; resolves once the process is gone. */
  kill(): Promise<void>;
}

/** Children still running; killed if this process exits first (a failed or timed-out bench). */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

function track(child: ChildProcess, url: string): ChildServer {
  live.add(child);
  child.once('exit', () => live.delete(child));
  let tail = '';
  child.stderr?.on('data', (c: Buffer) => {
    tail = (tail + c.toString()).slice(-4000);
  });
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  return {
    child,
    pid: child.pid ?? -1,
    url,
    stderr: () => tail,
    stop: async (graceMs = 10_000) => {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
    kill: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/**
 * Spawns `node dist/main.js` on a free loopback port with exactly `env` (plus PATH) and waits
 * for GET /readyz to answer 200. `readyMs` runs from just before spawn() to that answer.
 */
export async function spawnBot(env: Record<string, string>, timeoutMs = 15_000): Promise<{ bot: ChildServer; readyMs: number }> {
  const port = await freePort();
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, [DIST_MAIN], {
    env: { PATH: process.env.PATH ?? '', ...env, PORT: String(port) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const bot = track(child, `http://127.0.0.1:${port}`);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`bot exited with ${child.exitCode} before it was ready: ${bot.stderr()}`);
    const res = await httpRequest(`${bot.url}/readyz`).catch(() => undefined);
    if (res?.status === 200) return { bot, readyMs: Number(process.hrtime.bigint() - started) / 1e6 };
    if (Date.now() > deadline) {
      await bot.stop(1000);
      throw new Error(`bot not ready within ${timeoutMs} ms (last: ${res ? `${res.status} ${res.text}` : 'no answer'}): ${bot.stderr()}`);
    }
    await sleep(5);
  }
}

/** Starts a compiled helper of bench/lib that prints `{"port": n}` as its first stdout line. */
export async function spawnHelper(file: string, env: Record<string, string>): Promise<ChildServer> {
  const child = spawn(process.execPath, [join(__dirname, file)], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const server = track(child, '');
  const port = await new Promise<number>((done, fail) => {
    let out = '';
    const onData = (c: Buffer) => {
      out += c.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n') && line !== undefined) {
        child.stdout?.off('data', onData);
        child.stdout?.resume();
        done((JSON.parse(line) as { port: number }).port);
      }
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) => fail(new Error(`${file} exited with ${code} before it listened: ${server.stderr()}`)));
  });
  return { ...server, url: `http://127.0.0.1:${port}` };
}

/** Resident set size of a process in bytes (Linux /proc), or undefined elsewhere. */
export function rssBytes(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match?.[1] === undefined ? undefined : Number(match[1]) * 1024;
  } catch {
    return undefined;
  }
}
