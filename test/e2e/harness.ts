import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { EventEmitter } from 'node:events';
import { startBot, type Bot, type BotOptions } from '../../src/bot';
import { loadConfig, type Config } from '../../src/config';
import { createLogger } from '../../src/logger';
import { startFakeSlack, type StartedFakeSlack } from '../../src/sandbox/fake-slack';
import type { RecordedCall } from '../../src/sandbox/fake-slack';
import { appHomeOpenedBody, blockActionsBody, homeBlockActionsBody, signSlackRequest, slashCommandBody, viewSubmissionBody } from '../../src/sandbox/slack-requests';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../src/simulator';

export const SIGNING_SECRET = 'test-signing-secret-0123456789';
export const BOT_TOKEN = 'xoxb-test-0000-bot-token';
export const MANAGER_PASSWORD = 'manager-secret-pw';
export const OPS = { id: 'C0OPS', name: 'ops' };
export const ALERTS = { id: 'C0ALERTS', name: 'backup-alerts' };
export const ALICE = { id: 'U0ALICE', name: 'alice' };
export const BOB = { id: 'U0BOB', name: 'bob' };
export const CAROL = { id: 'U0CAROL', name: 'carol' };
export const EVE = { id: 'U0EVE', name: 'eve' };

export interface HarnessOptions {
  env?: Record<string, string>;
  simulator?: SimulatorOptions;
  slack?: Parameters<typeof startFakeSlack>[0];
  /** Extra options of the in-process bot (e.g. shorter manager or store timeouts); they win over the harness's. */
  bot?: Pick<BotOptions, 'managerTimeouts' | 'managerRetry' | 'storeBusyTimeoutMs' | 'slackConnectTimeoutMs' | 'clock' | 'homeMinIntervalMs'>;
  /** false: start only the simulator and the fake Slack (a test runs the bot as a process and sets `botUrl`). */
  startBot?: boolean;
}

/**
 * The real bot in HTTP mode against a fake Slack Web API and the simulator, all on
 * loopback. Requests are signed as Slack signs them. The simulator is manual (stepMs 0):
 * a test moves tasks with `sim.step()` and awaits the Slack calls that follow.
 */
export class Harness {
  bot!: Bot;
  sim!: Simulator;
  slack!: StartedFakeSlack;
  config!: Config;
  readonly dir = mkdtempSync(join(tmpdir(), 'pgbackup-e2e-'));
  readonly logs: string[] = [];
  /** Emits 'line' for every chunk appended to `logs`. */
  readonly logEvents = new EventEmitter<{ line: [string] }>();
  /** Where signed requests go when the bot is not the in-process one (a spawned process). */
  botUrl: string | undefined;
  private readonly options: HarnessOptions;

  constructor(options: HarnessOptions = {}) {
    this.options = options;
  }

  static async start(options: HarnessOptions = {}): Promise<Harness> {
    const h = new Harness(options);
    h.sim = await startSimulator({ port: 0, password: MANAGER_PASSWORD, stepMs: 0, agentLogPath: join(h.dir, 'production.log'), ...options.simulator });
    h.slack = await startFakeSlack({ botToken: BOT_TOKEN, ...options.slack });
    if (options.startBot !== false) await h.startBot();
    return h;
  }

  get agentLog(): string {
    return join(this.dir, 'production.log');
  }

  env(): Record<string, string> {
    return {
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: this.slack.apiUrl,
      BACKUP_MANAGER_URL: this.sim.url,
      BACKUP_MANAGER_PASSWORD: MANAGER_PASSWORD,
      NOTIFY_CHANNEL: ALERTS.id,
      STATE_DB: join(this.dir, 'state.sqlite'),
      POLL_INTERVAL_MS: '30',
      WATCH_INTERVAL_MS: '3600000',
      SLACK_CHANNEL_INTERVAL_MS: '0',
      LOG_TAIL_FILE: this.agentLog,
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      ...this.options.env,
    };
  }

  /** Starts (or, after stop(), restarts) the bot on the same state file; `env` adds to the harness's. */
  async startBot(env: Record<string, string> = {}): Promise<void> {
    this.config = { ...loadConfig({ ...this.env(), ...env }), port: 0 };
    const sink = new Writable({
      write: (chunk: Buffer, _enc, done) => {
        const line = chunk.toString();
        this.logs.push(line);
        this.logEvents.emit('line', line);
        done();
      },
    });
    const logger = createLogger({ level: this.config.logLevel === 'silent' ? 'info' : this.config.logLevel, destination: sink });
    this.bot = await startBot({
      config: this.config,
      logger,
      host: '127.0.0.1',
      managerRetry: { retries: 2, minDelayMs: 5, maxDelayMs: 20 },
      ...this.options.bot,
    });
  }

  async close(): Promise<void> {
    // Undefined when the harness was started with `startBot: false`.
    if ((this.bot as Bot | undefined) !== undefined) await this.bot.stop({ drainMs: 2000 });
    await this.sim.close();
    await this.slack.close();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Posts a signed request to /slack/events as Slack would. */
  async post(body: string, sign: { secret?: string; timestamp?: number } | false = {}): Promise<{ status: number; text: string }> {
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
    if (sign) Object.assign(headers, signSlackRequest(sign.secret ?? SIGNING_SECRET, body, sign.timestamp).headers);
    return httpPost(`${this.botUrl ?? this.bot.url}/slack/events`, headers, body);
  }

  /** `user` opens the app's Home tab (a signed app_home_opened event). */
  async openHome(user = ALICE): Promise<{ status: number }> {
    const body = appHomeOpenedBody({ user: user.id });
    const headers = { ...signSlackRequest(SIGNING_SECRET, body).headers, 'content-type': 'application/json' };
    return httpPost(`${this.botUrl ?? this.bot.url}/slack/events`, headers, body);
  }

  /** Clicks the button `actionId` of `instance` on the Home tab last published for `user`. */
  async clickHome(user: { id: string; name: string }, actionId: string, instance: string): Promise<{ status: number }> {
    const view = this.slack.views.home(user.id) as { blocks?: unknown[] } | undefined;
    if (!view) throw new Error(`no Home published for ${user.id}`);
    const block = (view.blocks ?? []).find((b) => (b as { block_id?: string }).block_id === `home:${instance}`);
    const button = block === undefined ? undefined : findButton([block], actionId);
    if (!button) throw new Error(`no ${actionId} of ${instance} on the Home of ${user.id}`);
    return this.post(homeBlockActionsBody({ user, viewId: `VH${user.id}`, action: { actionId, blockId: button.blockId, value: button.value, text: button.text } }));
  }

  /** `/pgbackup <text>` as `user` in `channel`; resolves with the ack. */
  async command(text: string, user = ALICE, channel = OPS): Promise<{ status: number; ack: AckBody }> {
    const body = slashCommandBody({ user, channel, text, responseUrl: this.slack.responseUrlFor({ user: user.id, channel: channel.id }) });
    const res = await this.post(body);
    return { status: res.status, ack: res.text ? (JSON.parse(res.text) as AckBody) : {} };
  }

  /** Clicks the button `actionId` on a message the bot posted in `channel`. */
  async click(message: { ts: string; blocks: unknown[] }, actionId: string, user = BOB, channel = OPS, value?: string): Promise<{ status: number }> {
    const button = findButton(message.blocks, actionId);
    if (!button) throw new Error(`no button ${actionId} on message ${message.ts}`);
    const body = blockActionsBody({
      user,
      channel,
      message: { ts: message.ts, text: '', blocks: message.blocks },
      messageTs: message.ts,
      isEphemeral: false,
      responseUrl: this.slack.responseUrlFor({ user: user.id, channel: channel.id }),
      action: { actionId, blockId: button.blockId, value: value ?? button.value, text: button.text },
    });
    return this.post(body);
  }

  /** Submits a modal the bot opened (the `view` of its views.open call) with typed values; resolves with the ack. */
  async submitView(
    opened: RecordedCall,
    values: Record<string, Record<string, string | null>>,
    user = ALICE,
  ): Promise<{ status: number; ack: { response_action?: string; errors?: Record<string, string> } }> {
    const view = (opened.args as { view: { callback_id?: string; private_metadata?: string; blocks?: unknown[] } }).view;
    const id = ((opened.response as { view?: { id?: string } }).view?.id ?? 'V0000') as string;
    const res = await this.post(viewSubmissionBody({ user, view: { ...view, id }, values }));
    return { status: res.status, ack: res.text ? (JSON.parse(res.text) as { response_action?: string; errors?: Record<string, string> }) : {} };
  }

  /** Waits for a Web API call matching the predicate (already made or still to come). */
  waitFor(method: string, predicate: (args: Args) => boolean = () => true, timeoutMs = 10_000): Promise<RecordedCall> {
    return this.slack.waitForCall((c) => c.method === method && predicate(c.args as Args), timeoutMs);
  }

  callsOf(method: string, predicate: (args: Args) => boolean = () => true): RecordedCall[] {
    return this.slack.calls.filter((c) => c.method === method && predicate(c.args as Args));
  }

  /** Ephemeral answers, whichever way they went: response_url or chat.postEphemeral. */
  ephemerals(user: string): string[] {
    const viaUrl = this.slack.responses.filter((r) => r.user === user).map((r) => textOf(r.body as Args));
    const viaApi = this.callsOf('chat.postEphemeral', (a) => a.user === user).map((c) => textOf(c.args as Args));
    return [...viaUrl, ...viaApi];
  }

  async waitForEphemeral(user: string, pattern: RegExp, timeoutMs = 10_000): Promise<string> {
    const found = () => this.ephemerals(user).find((t) => pattern.test(t));
    const now = found();
    if (now) return now;
    const { events } = this.slack;
    return new Promise<string>((resolve, reject) => {
      const check = () => {
        const text = found();
        if (text === undefined) return;
        cleanup();
        resolve(text);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`no ephemeral for ${user} matching ${pattern}; got: ${this.ephemerals(user).join(' | ').slice(0, 500)}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        events.off('response', check);
        events.off('call', check);
      };
      events.on('response', check);
      events.on('call', check);
    });
  }

  /** Resolves with the first log line matching `pattern` (already written or still to come). */
  waitForLog(pattern: RegExp, timeoutMs = 10_000): Promise<string> {
    const now = this.logs.find((l) => pattern.test(l));
    if (now !== undefined) return Promise.resolve(now);
    return new Promise<string>((resolve, reject) => {
      const onLine = (line: string) => {
        if (!pattern.test(line)) return;
        cleanup();
        resolve(line);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`no log line matching ${pattern}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.logEvents.off('line', onLine);
      };
      this.logEvents.on('line', onLine);
    });
  }

  managerRequests(method?: string, path?: string): Array<{ method: string; path: string; body: unknown }> {
    return this.sim.requests.filter((r) => (!method || r.method === method) && (!path || r.path === path));
  }
}

/** A POST with no keep-alive, so no socket outlives the test. */
export function httpPost(url: string, headers: Record<string, string>, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

export type Args = Record<string, unknown> & { channel?: string; ts?: string; thread_ts?: string; text?: string; blocks?: unknown[]; user?: string };

export interface AckBody {
  response_type?: string;
  text?: string;
  blocks?: unknown[];
}

/** Everything a person would read in a message: the fallback text and every block's text. */
export function textOf(args: Args | AckBody | undefined): string {
  if (!args) return '';
  return [args.text ?? '', JSON.stringify(args.blocks ?? [])].join('\n');
}

interface FoundButton {
  blockId: string;
  value: string;
  text: string;
}

export function findButton(blocks: unknown[], actionId: string): FoundButton | undefined {
  for (const raw of blocks) {
    const block = raw as { block_id?: string; elements?: unknown[]; accessory?: unknown };
    const candidates = [...(block.elements ?? []), ...(block.accessory ? [block.accessory] : [])] as Array<{
      type?: string;
      action_id?: string;
      value?: string;
      text?: { text?: string };
    }>;
    for (const el of candidates) {
      if (el.type === 'button' && el.action_id === actionId) return { blockId: block.block_id ?? '', value: el.value ?? '', text: el.text?.text ?? '' };
    }
  }
  return undefined;
}
