import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildForProcessTests } from '../helpers/build';
import { reapAll, spawnBot, until, waitReady, type BotProcess } from '../helpers/bot-process';
import { freePort, httpGet } from '../helpers/http';
import { Harness, OPS, SIGNING_SECRET, httpPost } from '../e2e/harness';
import { signSlackRequest, slashCommandBody } from '../../src/sandbox/slack-requests';

/** The README's bound: a 10 s drain, then the rest of the stop; and "at once" for a second signal. */
const SHUTDOWN_BOUND_MS = 16_000;
const AT_ONCE_MS = 3_000;

/** Resolves with how the process ended, or 'still running' after `ms`. */
async function exitWithin(bot: BotProcess, ms: number): Promise<{ code: number | null; signal: NodeJS.Signals | null } | 'still running'> {
  let timer: NodeJS.Timeout | undefined;
  const result = await Promise.race([bot.exited, new Promise<'still running'>((resolve) => (timer = setTimeout(() => resolve('still running'), ms)))]);
  clearTimeout(timer);
  return result;
}

/**
 * Issue 10 item 2: stdout is a pipe that nobody reads (a stalled log collector), so it fills
 * up. The bot must still exit on SIGTERM within the bounded drain, and at once on a second one.
 */
describe('shutdown with a stdout nobody reads', () => {
  let main: string;
  let h: Harness;
  let dir: string;
  let reader: number | undefined;

  beforeAll(() => {
    main = buildForProcessTests('stuck-stdout');
  }, 120_000);

  beforeEach(async () => {
    h = await Harness.start({ startBot: false });
    dir = mkdtempSync(join(tmpdir(), 'pgbackup-fifo-'));
  });

  afterEach(async () => {
    await reapAll();
    if (reader !== undefined) closeSync(reader);
    reader = undefined;
    // Also removes the harness's directory, where the spawned bots kept their state file.
    await h.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Starts the bot with stdout the write end of a FIFO whose read end is held open here and never read. */
  async function startWithStalledStdout(): Promise<BotProcess> {
    const fifo = join(dir, 'stdout');
    execFileSync('mkfifo', [fifo]);
    reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    const writer = openSync(fifo, 'w');
    const bot = spawnBot(main, { ...h.env(), LOG_LEVEL: 'trace' }, await freePort(), { stdout: writer });
    closeSync(writer);
    await waitReady(bot);
    return bot;
  }

  /** 300 `help` commands, 10 at a time, each answered. */
  async function drive(bot: BotProcess): Promise<void> {
    for (let i = 0; i < 30; i++) {
      const statuses = await Promise.all(
        Array.from({ length: 10 }, async () => {
          const body = slashCommandBody({ user: { id: 'U0ALICE', name: 'alice' }, channel: OPS, text: 'help', responseUrl: h.slack.responseUrlFor({ user: 'U0ALICE', channel: OPS.id }) });
          return (await httpPost(`${bot.url}/slack/events`, signSlackRequest(SIGNING_SECRET, body).headers, body)).status;
        }),
      );
      expect(statuses).toEqual(Array(10).fill(200));
    }
  }

  /** Bytes waiting in the pipe: a full pipe holds nearly its whole capacity (64 KiB on Linux; a line that does not fit waits outside). */
  function bytesInPipe(): number {
    const buf = Buffer.alloc(1 << 16);
    let total = 0;
    for (let i = 0; i < 1024; i++) {
      try {
        const n = readSync(reader as number, buf);
        if (n === 0) break;
        total += n;
      } catch {
        break; // EAGAIN: empty
      }
    }
    return total;
  }

  it('exits 0 on SIGTERM within the bounded drain', async () => {
    const bot = await startWithStalledStdout();
    await drive(bot);
    bot.child.kill('SIGTERM');
    expect(await exitWithin(bot, SHUTDOWN_BOUND_MS)).toEqual({ code: 0, signal: null });
    // The scenario really happened: the pipe was full when the bot exited.
    expect(bytesInPipe()).toBeGreaterThanOrEqual(60 * 1024);
  }, 90_000);

  it('exits at once on a second SIGTERM while the first one is draining', async () => {
    // Slack failing every post keeps the outbox retrying, so the first signal's drain waits.
    for (let i = 0; i < 40; i++) h.slack.failNext('chat.postMessage', { status: 500 });
    const bot = await startWithStalledStdout();
    await drive(bot);
    const body = slashCommandBody({ user: { id: 'U0ALICE', name: 'alice' }, channel: OPS, text: 'now', responseUrl: h.slack.responseUrlFor({ user: 'U0ALICE', channel: OPS.id }) });
    expect((await httpPost(`${bot.url}/slack/events`, signSlackRequest(SIGNING_SECRET, body).headers, body)).status).toBe(200);
    await h.waitFor('chat.postMessage');
    bot.child.kill('SIGTERM');
    // The first signal closed the server: the shutdown is under way (stdout can not tell us).
    await until('the server to close', async () => {
      try {
        await httpGet(`${bot.url}/healthz`, 1000);
        return undefined;
      } catch {
        return true;
      }
    });
    expect(bot.child.exitCode).toBeNull();
    bot.child.kill('SIGTERM');
    expect(await exitWithin(bot, AT_ONCE_MS)).toEqual({ code: 1, signal: null });
    expect(bytesInPipe()).toBeGreaterThanOrEqual(60 * 1024);
  }, 90_000);
});
