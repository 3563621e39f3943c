import { Harness, OPS, textOf, type Args, type HarnessOptions } from '../e2e/harness';
import { delivered } from '../faults/util';
import { freshDatabase } from '../pg/postgres';
import { reapAll, spawnBot, until, waitReady, type BotProcess } from './bot-process';
import { freePort, httpGet } from './http';

/**
 * What the process-level replica tests share: three `node dist/main.js` on one PostgreSQL,
 * found by their /readyz role, and the backup threads they post in.
 */

export const POLL_MS = 400;
export const PG = 'pg-orders';
export const INSTANCES = ['pg-a', 'pg-b', 'pg-c', PG];

export const isCard = (a: Args): boolean => a.channel === OPS.id && a.thread_ts === undefined && /Restore of .* requested/.test(a.text ?? '');
export const inThread =
  (ts: string, pattern: RegExp) =>
  (a: Args): boolean =>
    a.thread_ts === ts && pattern.test(textOf(a));
export const parentOf =
  (instance: string) =>
  (a: Args): boolean =>
    a.channel === OPS.id && a.thread_ts === undefined && textOf(a).includes(`Backup of ${instance} `);

export const alive = (bot: BotProcess): boolean => bot.child.exitCode === null && bot.child.signalCode === null;

/** The environment of one replica: the harness's Slack and simulator, `stateDb`, a short poll. */
export function replicaEnv(h: Harness, stateDb: string, extra: Record<string, string> = {}): Record<string, string> {
  return { ...h.env(), STATE_DB: stateDb, POLL_INTERVAL_MS: String(POLL_MS), SLACK_TIMEOUT_MS: '2000', LOG_LEVEL: 'info', ...extra };
}

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

/** The one leader among `among`, once every one of them answers and exactly one leads. */
export async function leaderAmong(among: BotProcess[]): Promise<BotProcess> {
  return until('exactly one leader', async () => {
    const roles = await Promise.all(among.map(roleOf));
    const leaders = among.filter((_, i) => roles[i] === 'leader');
    return leaders.length === 1 && roles.every((r) => r === 'leader' || r === 'follower') ? leaders[0] : undefined;
  });
}

/** The status words of the replies in the backup thread `ts`, in the order Slack got them. */
export const statusesIn = (h: Harness, ts: string): Array<string | undefined> =>
  delivered(h, 'chat.postMessage', (a) => a.thread_ts === ts).map((a) => /queued|running|done|FAILED/.exec(a.text ?? '')?.[0]);

/** The ts of the parent message of `instance`'s backup thread, once it is posted. */
export async function parentTs(h: Harness, instance: string): Promise<string> {
  const parent = await h.waitFor('chat.postMessage', parentOf(instance));
  return (parent.response as { ts: string }).ts;
}

/**
 * Steps the simulator's backup behind thread `ts` to running, then to done, waiting for each
 * reply (a replica that polls late would otherwise see only done), and for the parent's last
 * edit; then the thread must read each transition exactly once.
 */
export async function followToDone(h: Harness, ts: string): Promise<void> {
  await h.sim.step();
  await h.waitFor('chat.postMessage', inThread(ts, /running/));
  await h.sim.step();
  await h.waitFor('chat.postMessage', inThread(ts, /done/));
  await h.waitFor('chat.update', (a) => a.ts === ts && /done/.test(textOf(a)));
  expect(statusesIn(h, ts)).toEqual(['queued', 'running', 'done']);
}

/**
 * The restore card of `backupId`, once the leader has recorded where it landed. Until then a
 * click is answered "still being posted; click again", so a test that clicks as soon as
 * Slack has the card races the leader. The leader asks for the card's link right after it
 * stored its ts: that call is the sign.
 */
export async function recordedCard(h: Harness, backupId: number): Promise<{ ts: string; blocks: unknown[] }> {
  const call = await h.waitFor('chat.postMessage', (a) => isCard(a) && textOf(a).includes(`backup ${backupId}`));
  const ts = (call.response as { ts: string }).ts;
  await h.waitFor('chat.getPermalink', (a) => a.message_ts === ts);
  return { ts, blocks: (call.args as Args).blocks ?? [] };
}

export interface ReplicasOptions {
  /** The compiled bot (buildForProcessTests). */
  mainJs: string;
  count?: number;
  pollMs: number;
  simulator?: HarnessOptions['simulator'];
  /** The fake Slack's options (e.g. a Socket Mode URL). */
  slack?: HarnessOptions['slack'];
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
    const h = await Harness.start({ startBot: false, ...(options.simulator ? { simulator: options.simulator } : {}), ...(options.slack ? { slack: options.slack } : {}) });
    const r = new Replicas(h, url, options);
    for (let i = 0; i < (options.count ?? 3); i++) await r.launch();
    await r.leader();
    return r;
  }

  /** One more replica, once it is ready. */
  async launch(): Promise<BotProcess> {
    const env = replicaEnv(this.h, this.url, { POLL_INTERVAL_MS: String(this.options.pollMs), ...this.options.env });
    const bot = spawnBot(this.options.mainJs, env, await freePort());
    this.bots.push(bot);
    await waitReady(bot);
    return bot;
  }

  /** The one leader among the live replicas, once there is exactly one. */
  async leader(among: BotProcess[] = this.bots): Promise<BotProcess> {
    return leaderAmong(among);
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
