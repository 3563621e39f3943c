import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBot, type Bot } from '../../src/bot';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/logger';
import { startFakeSlack, type FakeSlackOptions, type StartedFakeSlack } from '../../src/sandbox/fake-slack';
import { startSimulator, type Simulator } from '../../src/simulator';

/** Fixed credentials of the loopback fakes; none of them is a real secret. */
export const SIGNING_SECRET = 'bench-signing-secret-0123456789';
export const BOT_TOKEN = 'xoxb-bench-0000-bot-token';
export const MANAGER_PASSWORD = 'bench-manager-pw';
export const OPS = { id: 'C0OPS', name: 'ops' };
export const ALICE = { id: 'U0ALICE', name: 'alice' };
/** a9s-pg plus two service instances: the three instances of the benches. */
export const EXTRA_INSTANCES = ['pg-orders', 'pg-billing'];
export const INSTANCES = ['a9s-pg', ...EXTRA_INSTANCES];

export interface Fakes {
  sim: Simulator;
  slack: StartedFakeSlack;
  dir: string;
  close(): Promise<void>;
}

/** The simulator (manual steps) and a fake Slack Web API, both on 127.0.0.1, and a scratch dir. */
export async function startFakes(slack: FakeSlackOptions = {}): Promise<Fakes> {
  const dir = mkdtempSync(join(tmpdir(), 'pgbackup-bench-'));
  const sim = await startSimulator({ port: 0, host: '127.0.0.1', password: MANAGER_PASSWORD, stepMs: 0, instances: EXTRA_INSTANCES });
  const fake = await startFakeSlack({ botToken: BOT_TOKEN, ...slack });
  return {
    sim,
    slack: fake,
    dir,
    close: async () => {
      await sim.close();
      await fake.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The bot's environment against the fakes; `extra` overrides. */
export function botEnv(fakes: Fakes, extra: Record<string, string> = {}): Record<string, string> {
  return {
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: fakes.slack.apiUrl,
    BACKUP_MANAGER_URL: fakes.sim.url,
    BACKUP_MANAGER_PASSWORD: MANAGER_PASSWORD,
    STATE_DB: join(fakes.dir, 'state.sqlite'),
    WATCH_INTERVAL_MS: '3600000',
    LOG_LEVEL: 'error',
    ...extra,
  };
}

/** The real bot, wired by startBot, in this process on a free loopback port; errors go to stderr. */
export async function startInProcessBot(env: Record<string, string>): Promise<Bot> {
  const config = { ...loadConfig(env), port: 0 };
  const logger = createLogger({ level: config.logLevel, destination: process.stderr });
  return startBot({ config, logger, host: '127.0.0.1', managerRetry: { retries: 2, minDelayMs: 5, maxDelayMs: 20 } });
}
