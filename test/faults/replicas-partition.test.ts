import { Client } from 'pg';
import { z } from 'zod';
import { Harness, textOf } from '../e2e/harness';
import { buildForProcessTests } from '../helpers/build';
import { reapAll, spawnBot, waitForOutput, waitReady, type BotProcess } from '../helpers/bot-process';
import { startHttpTap, type HttpTap } from '../helpers/http-tap';
import { followToDone, inThread, INSTANCES, leaderAmong, parentTs, replicaEnv, statusesIn } from '../helpers/replicas';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy';
import { freshDatabase } from '../pg/postgres';
import { freePort } from './util';

/**
 * Three replicas on one PostgreSQL, each reaching it through its own TCP proxy and Slack through
 * its own tap, so that one replica can be cut off from the database and every Slack call is
 * known by who made it. The leader loses its database while it tracks a backup: it must stop
 * sending before another replica leads, and the new leader posts what is left, once.
 */

/** The leadership lease (PgLeadership's default leaseMs) and a margin for a loaded machine. */
const LEASE_MS = 10_000;
const TAKEOVER_MS = LEASE_MS + 15_000;
/** Slack Web API methods that change what people see. */
const WRITES = new Set(['chat.postMessage', 'chat.update', 'chat.delete', 'chat.postEphemeral', 'views.publish', 'views.open', 'views.update']);

interface Replica {
  bot: BotProcess;
  proxy: TcpProxy;
  tap: HttpTap;
}

const Leadership = z.object({
  epoch: z.union([z.string(), z.number()]).transform(Number),
  holder: z.string(),
  since: z.union([z.string(), z.number()]).transform(Number),
});

const LogLine = z.object({ time: z.number() });

let mainJs: string;

beforeAll(() => {
  mainJs = buildForProcessTests('replicas-partition');
}, 120_000);

describe('the leader cut off from PostgreSQL', () => {
  let h: Harness;
  let url: string;
  let replicas: Replica[] = [];

  async function start(): Promise<void> {
    url = await freshDatabase('partition');
    h = await Harness.start({ startBot: false, simulator: { instances: INSTANCES } });
    replicas = [];
    for (let i = 0; i < 3; i++) replicas.push(await launch());
    await leaderAmong(replicas.map((r) => r.bot));
  }

  async function launch(): Promise<Replica> {
    const proxy = await startTcpProxy(Number(new URL(url).port));
    const tap = await startHttpTap(h.slack.apiUrl);
    const viaProxy = new URL(url);
    viaProxy.port = String(proxy.port);
    const bot = spawnBot(mainJs, replicaEnv(h, viaProxy.toString(), { SLACK_API_URL: tap.url }), await freePort());
    await waitReady(bot);
    return { bot, proxy, tap };
  }

  const replicaOf = (bot: BotProcess): Replica => {
    const found = replicas.find((r) => r.bot === bot);
    if (!found) throw new Error(`no replica for ${bot.url}`);
    return found;
  };

  /** The leadership row as the database has it, read past the proxies. */
  async function leadershipRow(): Promise<z.infer<typeof Leadership>> {
    const client = new Client({ connectionString: url });
    await client.connect();
    try {
      return Leadership.parse((await client.query('SELECT epoch, holder, since FROM leadership')).rows[0]);
    } finally {
      await client.end();
    }
  }

  const writesOf = (r: Replica) => r.tap.requests.filter((c) => WRITES.has(c.method));

  afterEach(async () => {
    await reapAll();
    for (const r of replicas) {
      await r.proxy.close();
      await r.tap.close();
    }
    await h.close();
  });

  /**
   * The leader tracks a backup; `partition` cuts it off; the backup moves on; another replica
   * leads and posts the rest; the old leader is gone before then and stays silent after `heal`.
   */
  async function scenario(partition: (proxy: TcpProxy) => void, heal: (proxy: TcpProxy) => void): Promise<void> {
    await start();
    const oldBot = await leaderAmong(replicas.map((r) => r.bot));
    const old = replicaOf(oldBot);
    const others = replicas.filter((r) => r !== old);
    const before = await leadershipRow();
    expect(before.holder.endsWith(`:${String(oldBot.child.pid)}`)).toBe(true);

    h.botUrl = others[0]?.bot.url;
    expect((await h.command('now pg-a')).status).toBe(200);
    const ts = await parentTs(h, 'pg-a');
    await h.waitFor('chat.postMessage', inThread(ts, /queued/));
    // The queued reply came through the leader: the taps tell who posts.
    expect(writesOf(old).filter((c) => c.method === 'chat.postMessage').length).toBeGreaterThanOrEqual(2);

    partition(old.proxy);
    await h.sim.step();

    // Another replica leads and posts each remaining transition once.
    await h.waitFor('chat.postMessage', inThread(ts, /running/), TAKEOVER_MS);
    const after = await leadershipRow();
    expect(after.epoch).toBeGreaterThan(before.epoch);
    const next = others.find((r) => after.holder.endsWith(`:${String(r.bot.child.pid)}`));
    expect(next).toBeDefined();
    await h.sim.step();
    await h.waitFor('chat.postMessage', inThread(ts, /done/));
    await h.waitFor('chat.update', (a) => a.ts === ts && /done/.test(textOf(a)));
    expect(statusesIn(h, ts)).toEqual(['queued', 'running', 'done']);
    expect(writesOf(next as Replica).filter((c) => c.method === 'chat.postMessage')).toHaveLength(2);

    // The old leader stepped down on its own before the new one led (both times on this
    // machine's clock), and sent nothing from that moment on.
    const steppedDown = LogLine.parse(JSON.parse(await waitForOutput(oldBot, /"msg":"stepped down"/, 1000)));
    expect(steppedDown.time).toBeLessThan(after.since);
    await waitForOutput(oldBot, /lost the leadership/, 1000);
    expect(writesOf(old).filter((c) => c.at >= after.since)).toEqual([]);
    const exited = await oldBot.exited;
    expect(exited).toEqual({ code: 1, signal: null });

    // Healed, whatever the old leader left on the wire reaches the database: a later backup,
    // tracked to its end by the new leader, shows the first thread untouched.
    heal(old.proxy);
    h.botUrl = (next as Replica).bot.url;
    expect((await h.command('now pg-b')).status).toBe(200);
    const later = await parentTs(h, 'pg-b');
    await h.waitFor('chat.postMessage', inThread(later, /queued/));
    await followToDone(h, later);
    expect(statusesIn(h, ts)).toEqual(['queued', 'running', 'done']);
    expect(writesOf(old).filter((c) => c.at >= after.since)).toEqual([]);
    expect(await leaderAmong(others.map((r) => r.bot))).toBe((next as Replica).bot);
  }

  it(
    'frozen (a partition, no FIN or RST): the leader stops before the next one leads, which posts each remaining transition once',
    () =>
      scenario(
        (p) => p.freeze(),
        (p) => p.thaw(),
      ),
    90_000,
  );

  it(
    'cut (connections reset): the leader stops before the next one leads, which posts each remaining transition once',
    () =>
      scenario(
        (p) => p.cut(),
        () => undefined,
      ),
    60_000,
  );
});
