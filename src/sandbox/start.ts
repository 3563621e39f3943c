import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { startBot, type Bot } from '../bot';
import type { Config } from '../config';
import { seedDemoHistory } from '../simulator/demo';
import { startSimulator, type InstanceJson, type Simulator } from '../simulator';
import { DEFAULT_CHANNELS, DEFAULT_USERGROUPS, OPERATORS_GROUP, startFakeSlack } from './fake-slack';
import { sandboxBanner } from './banner';
import { composerExamples } from './examples';
import { sandboxApprovers, sandboxPeople } from './people';
import { createSandboxRoutes } from './web';

export const SANDBOX_INSTANCES = ['a9s-pg', 'pg-orders', 'pg-billing'];

export interface Sandbox {
  bot: Bot;
  simulator: Simulator;
  url: string;
  stop(options?: { drainMs?: number }): Promise<void>;
}

export interface SandboxOptions {
  /** Listen address of the bot (and so of the page); loopback by default. */
  host?: string;
  /** One simulator step per this many ms (default 1500); tests make it quick. */
  stepMs?: number;
  /** Chance (0..1) that a finishing backup or restore fails on its own (default 0.15); tests pass 0. */
  failureRate?: number;
  /** Scheduled backups of every instance this often (default 90 s); 0 turns them off. */
  scheduleEveryMs?: number;
  /** Print the "open http://localhost:…" box on stdout (default true). */
  banner?: boolean;
}

function currentView(simulator: Simulator, instance: string): InstanceJson | undefined {
  try {
    return simulator.view(instance);
  } catch {
    // A DEFAULT_INSTANCE the simulator does not have: the examples then offer no restore.
    return undefined;
  }
}

/**
 * The whole product on one machine with no credentials: the simulator as the Backup Manager,
 * a fake Slack workspace in the same process, and a page to use it. Commands and clicks reach
 * the real Bolt app as signed requests, exactly as from Slack.
 */
export async function startSandbox(base: Config, logger: Logger, options: SandboxOptions = {}): Promise<Sandbox> {
  const logDir = mkdtempSync(join(tmpdir(), 'pgbackup-sandbox-'));
  const agentLog = join(logDir, 'production.log');
  const password = randomBytes(12).toString('hex');
  const simulator = await startSimulator({
    port: 0,
    password,
    instances: SANDBOX_INSTANCES.filter((i) => i !== 'a9s-pg'),
    stepMs: options.stepMs ?? 1500,
    agentLogPath: agentLog,
    scheduleEveryMs: options.scheduleEveryMs ?? 90_000,
    failureRate: options.failureRate ?? 0.15,
  });
  seedDemoHistory(simulator, SANDBOX_INSTANCES);

  const signingSecret = randomBytes(16).toString('hex');
  const botToken = `xoxb-sandbox-${randomBytes(6).toString('hex')}`;
  // The fake Web API has a loopback port of its own; the page reads it in-process.
  const approvers = sandboxApprovers(base.restoreApprovers, base.restoreApprovals);
  const fakeSlack = await startFakeSlack({ botToken, users: sandboxPeople(approvers), usergroups: DEFAULT_USERGROUPS });
  const ops = DEFAULT_CHANNELS[0]?.id ?? 'C0OPS';
  const alerts = DEFAULT_CHANNELS[1]?.id ?? 'C0ALERTS';
  const mounted: { routes?: ReturnType<typeof createSandboxRoutes> } = {};
  const config: Config = {
    ...base,
    mode: 'sandbox',
    slack: { botToken, signingSecret, appToken: undefined, apiUrl: fakeSlack.apiUrl },
    backupManager: { url: simulator.url, username: 'admin', password, caFile: undefined },
    stateDb: ':memory:',
    notifyChannel: base.notifyChannel ?? alerts,
    watchInstances: SANDBOX_INSTANCES,
    pollIntervalMs: Math.min(base.pollIntervalMs, 1000),
    watchIntervalMs: Math.min(base.watchIntervalMs, 5000),
    logTailFile: agentLog,
    logTailCommand: undefined,
    restoreTimeoutMs: Math.min(base.restoreTimeoutMs, 10 * 60_000),
    // Every access rule can be seen working with the four people: alice operates (through the
    // operators group), bob and carol approve, eve may only list.
    operators: base.operators.length > 0 ? base.operators : [OPERATORS_GROUP],
    restoreApprovers: approvers,
  };
  // The page needs the bot's /slack/events URL, known once the bot listens: mounted lazily.
  const bot = await startBot({
    config,
    logger,
    host: options.host ?? '127.0.0.1',
    extraRoutes: [(req, res) => mounted.routes?.handle(req, res) ?? false],
  });
  const url = `http://localhost:${bot.port}/`;
  mounted.routes = createSandboxRoutes({
    fakeSlack,
    signingSecret,
    eventsUrl: `http://127.0.0.1:${bot.port}/slack/events`,
    // Read when the page asks, so a backup forgotten by a restore is never offered as an example.
    examples: () => composerExamples(config.defaultInstance, currentView(simulator, config.defaultInstance)),
  });
  logger.info({ url, channel: ops }, 'sandbox ready');
  if (options.banner ?? true) {
    process.stdout.write(['', ...sandboxBanner(url), '', ''].join('\n'));
  }
  return {
    bot,
    simulator,
    url,
    stop: async (opts) => {
      mounted.routes?.close();
      await bot.stop(opts);
      await simulator.close();
      await fakeSlack.close();
      rmSync(logDir, { recursive: true, force: true });
    },
  };
}
