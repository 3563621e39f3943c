import { spawnSync } from 'node:child_process';
import { buildForProcessTests } from '../helpers/build';
import { reapAll, spawnBot, waitReady, type BotProcess } from '../helpers/bot-process';
import { freePort } from '../helpers/http';
import { Harness, OPS, type Args } from '../e2e/harness';
import { slashCommandBody, signSlackRequest } from '../../src/sandbox/slack-requests';
import { httpPost } from '../e2e/harness';

const statusOf = (a: Args) => /queued|running|done/.exec(a.text ?? '')?.[0];

/** The bot as a real process: signals, drain, restart on the same state file. */
describe('graceful shutdown', () => {
  let main: string;
  let h: Harness;
  let bot: BotProcess | undefined;

  async function startBotProcess(env: Record<string, string>, port: number): Promise<BotProcess> {
    const started = spawnBot(main, env, port);
    await waitReady(started);
    return started;
  }

  beforeAll(() => {
    main = buildForProcessTests('process');
  }, 120_000);

  beforeEach(async () => {
    // The harness's in-process bot is not used here: the fakes are, with the same env.
    h = await Harness.start({ startBot: false });
  });

  afterEach(async () => {
    await reapAll();
    bot = undefined;
    // Also removes the harness's directory, where the spawned bots kept their state file.
    await h.close();
  });

  async function command(url: string, text: string): Promise<number> {
    const body = slashCommandBody({ user: { id: 'U0ALICE', name: 'alice' }, channel: OPS, text, responseUrl: h.slack.responseUrlFor({ user: 'U0ALICE', channel: OPS.id }) });
    return (await httpPost(`${url}/slack/events`, signSlackRequest('test-signing-secret-0123456789', body).headers, body)).status;
  }

  it('exits 0 on SIGTERM during an active task; after a restart the task finishes with no duplicated message', async () => {
    const port = await freePort();
    const env = { ...h.env(), LOG_LEVEL: 'info' };
    bot = await startBotProcess(env, port);
    expect(await command(bot.url, 'now')).toBe(200);
    const parent = await h.waitFor('chat.postMessage', (a) => a.thread_ts === undefined && /Backup of/.test(a.text ?? ''));
    const ts = (parent.response as { ts: string }).ts;
    await h.waitFor('chat.postMessage', (a) => a.thread_ts === ts && statusOf(a) === 'queued');

    bot.child.kill('SIGTERM');
    expect(await bot.exited).toEqual({ code: 0, signal: null });
    expect(bot.output.join('')).toMatch(/pgbackup-bot stopped/);

    await h.sim.step();
    bot = await startBotProcess(env, port);
    await h.waitFor('chat.postMessage', (a) => a.thread_ts === ts && statusOf(a) === 'running');
    await h.sim.step();
    await h.waitFor('chat.postMessage', (a) => a.thread_ts === ts && statusOf(a) === 'done');
    const replies = h.callsOf('chat.postMessage', (a) => a.thread_ts === ts).map((c) => statusOf(c.args as Args));
    expect(replies).toEqual(['queued', 'running', 'done']);
    expect(h.managerRequests('POST', '/backup_agent/backup')).toHaveLength(1);
    bot.child.kill('SIGINT');
    expect((await bot.exited).code).toBe(0);
  }, 60_000);

  it('exits at once on a second signal while the first one is still draining', async () => {
    const port = await freePort();
    // Slack failing every post keeps the outbox retrying, so the first signal's drain waits.
    for (let i = 0; i < 20; i++) h.slack.failNext('chat.postMessage', { status: 500 });
    bot = await startBotProcess({ ...h.env(), LOG_LEVEL: 'info' }, port);
    expect(await command(bot.url, 'now')).toBe(200);
    await h.waitFor('chat.postMessage');
    const current = bot;
    const draining = new Promise<void>((resolve) => {
      const check = () => current.output.join('').includes('shutting down') && resolve();
      current.child.stdout?.on('data', check);
      check();
    });
    bot.child.kill('SIGTERM');
    await draining;
    bot.child.kill('SIGINT');
    expect(await bot.exited).toEqual({ code: 1, signal: null });
    expect(bot.output.join('')).toMatch(/second signal/);
    expect(bot.output.join('')).not.toMatch(/pgbackup-bot stopped/);
  }, 60_000);

  it('refuses to start with a readable error listing every configuration problem, and no secret', async () => {
    const res = spawnSync(process.execPath, [main], {
      env: { PATH: process.env.PATH ?? '', SLACK_BOT_TOKEN: 'xoxb-very-secret-token', BACKUP_MANAGER_URL: 'http://127.0.0.1:1', PORT: 'abc', LOG_LEVEL: 'loud' },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(res.status).toBe(2);
    expect(res.stderr).toMatch(/PORT/);
    expect(res.stderr).toMatch(/LOG_LEVEL/);
    expect(res.stderr).not.toContain('xoxb-very-secret-token');
  }, 30_000);
});
