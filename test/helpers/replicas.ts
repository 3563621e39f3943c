import { Harness, type HarnessOptions } from '../e2e/harness';
import { freshDatabase } from '../pg/postgres';
import { reapAll, spawnBot, until, waitReady, type BotProcess } from './bot-process';
import { freePort, httpGet } from './http';

export interface ReplicasOptions {
  /** The compiled bot (buildForProcessTests). */
  mainJs: string;
  count?: number;
  pollMs: number;
  simulator?: HarnessOptions['simulator'];
  /** Added to every replica's environment (over the harness's and the replicas' own). */
  env?: Record<string, string>;
}

/**
 * N replicas of the bot, as real processes, on one fresh PostgreSQL database, against the
 * harness's simulator and fake Slack (the harness starts no bot of its own).
 */
export class Replicas {
  readonly bots: BotProcess[] = [];

  private constructor(
    readonly h: Harness,
    readonly url: string,
    private readonly options: ReplicasOptions,
  ) {}

  /** Starts the replicas one after the other and waits until exactly one leads. */
  static async start(options: ReplicasOptions): Promise<Replicas> {
    const url = await freshDatabase('replicas');
    const h = await Harness.start({ startBot: false, ...(options.simulator ? { simulator: options.simulator } : {}) });
    const r = new Replicas(h, url, options);
    for (let i = 0; i < (options.count ?? 3); i++) await r.launch();
    await r.leader();
    return r;
  }

  /** One more replica, once it is ready. */
  async launch(): Promise<BotProcess> {
    const env = { ...this.h.env(), STATE_DB: this.url, POLL_INTERVAL_MS: String(this.options.pollMs), SLACK_TIMEOUT_MS: '2000', LOG_LEVEL: 'info', ...this.options.env };
    const bot = spawnBot(this.options.mainJs, env, await freePort());
    this.bots.push(bot);
    await waitReady(bot);
    return bot;
  }

  /** The one leader among the live replicas, once there is exactly one. */
  async leader(among: BotProcess[] = this.bots): Promise<BotProcess> {
    return until('exactly one leader', async () => {
      const roles = await Promise.all(among.map(roleOf));
      const leaders = among.filter((_, i) => roles[i] === 'leader');
      return leaders.length === 1 && roles.every((r) => r === 'leader' || r === 'follower') ? leaders[0] : undefined;
    });
  }

  /** The live replicas that do not lead. */
  async followers(): Promise<BotProcess[]> {
    const l = await this.leader(this.bots.filter(alive));
    return this.bots.filter((b) => b !== l && alive(b));
  }

  async close(): Promise<void> {
    await reapAll();
    await this.h.close();
  }
}

const alive = (bot: BotProcess): boolean => bot.child.exitCode === null && bot.child.signalCode === null;

/** What the replica's /readyz says it is; undefined when it is gone or does not answer. */
export async function roleOf(bot: BotProcess): Promise<string | undefined> {
  if (!alive(bot)) return undefined;
  try {
    const res = await httpGet(`${bot.url}/readyz`, 2000);
    return (JSON.parse(res.text) as { role?: string }).role;
  } catch {
    return undefined;
  }
}
