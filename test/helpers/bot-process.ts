import { spawn, type ChildProcess } from 'node:child_process';
import { httpGet } from './http';

/** The bot as a real process (node <main.js>), for tests that SIGKILL it. */
export interface BotProcess {
  child: ChildProcess;
  url: string;
  /** stdout and stderr, as written (JSON log lines and any crash message). */
  output: string[];
  /** Resolves with the exit code or signal once the process is gone. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Every process spawned here, so a test's afterEach can reap them whatever happened. */
const live = new Set<BotProcess>();

/** Waits with a short, growing, bounded backoff: for polling another process, which sends no events. */
export async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, tries = 150): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, Math.min(100, 10 * 2 ** Math.min(i, 4))));
  }
  throw new Error(`gave up waiting for ${what}`);
}

/** `stdout`: a file descriptor the child writes its stdout to instead of a pipe read here. */
export function spawnBot(mainJs: string, env: Record<string, string>, port: number, options: { stdout?: number } = {}): BotProcess {
  const child = spawn(process.execPath, [mainJs], {
    env: { PATH: process.env.PATH ?? '', ...env, PORT: String(port) },
    stdio: ['ignore', options.stdout ?? 'pipe', 'pipe'],
  });
  const output: string[] = [];
  child.stdout?.on('data', (c: Buffer) => output.push(c.toString()));
  child.stderr?.on('data', (c: Buffer) => output.push(c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const bot: BotProcess = { child, url: `http://127.0.0.1:${port}`, output, exited };
  live.add(bot);
  void exited.then(() => live.delete(bot));
  return bot;
}

/** Resolves once /readyz answers 200; fails early if the process exits, or after bounded retries. */
export async function waitReady(bot: BotProcess): Promise<void> {
  let gone = false;
  void bot.exited.then(() => (gone = true));
  await until(`${bot.url}/readyz`, async () => {
    if (gone) throw new Error(`the bot exited before it was ready:\n${bot.output.join('').slice(-2000)}`);
    try {
      const res = await httpGet(`${bot.url}/readyz`, 2000);
      return res.status === 200 ? true : undefined;
    } catch {
      return undefined; // not listening yet
    }
  });
}

/** Resolves with the first output line matching `pattern` (already written or still to come). */
export function waitForOutput(bot: BotProcess, pattern: RegExp, timeoutMs = 10_000): Promise<string> {
  // Whole lines only: the last piece may be a line still being written.
  const match = (): string | undefined => bot.output.join('').split('\n').slice(0, -1).find((line) => pattern.test(line));
  const now = match();
  if (now !== undefined) return Promise.resolve(now);
  const streams = [bot.child.stdout, bot.child.stderr].filter((s) => s !== null);
  return new Promise<string>((resolve, reject) => {
    const check = (): void => {
      const line = match();
      if (line === undefined) return;
      cleanup();
      resolve(line);
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`no output line of ${bot.url} matching ${pattern} within ${timeoutMs} ms:\n${bot.output.join('').slice(-2000)}`));
    }, timeoutMs);
    const cleanup = (): void => {
      clearTimeout(timer);
      for (const s of streams) s.off('data', check);
    };
    // Registered after spawnBot's own listener, so the chunk is in `output` when this runs.
    for (const s of streams) s.on('data', check);
  });
}

/** SIGKILL: no shutdown handler runs, nothing is drained or flushed. */
export async function killHard(bot: BotProcess): Promise<void> {
  if (bot.child.exitCode === null && bot.child.signalCode === null) bot.child.kill('SIGKILL');
  const { signal } = await bot.exited;
  expect(signal).toBe('SIGKILL');
}

/** Kills whatever is still running (bounded: a SIGKILLed process is gone within the timeout). */
export async function reapAll(timeoutMs = 5000): Promise<void> {
  const waits = [...live].map(async (bot) => {
    if (bot.child.exitCode === null && bot.child.signalCode === null) bot.child.kill('SIGKILL');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([bot.exited, new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
    bot.child.stdout?.destroy();
    bot.child.stderr?.destroy();
  });
  await Promise.all(waits);
  live.clear();
}
