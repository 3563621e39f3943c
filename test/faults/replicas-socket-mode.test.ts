import { slashCommandBody } from '../../src/sandbox/slack-requests';
import { ALICE, OPS, textOf, type Harness } from '../e2e/harness';
import { buildForProcessTests } from '../helpers/build';
import { killHard, reapAll, until } from '../helpers/bot-process';
import { FakeSocketModeServer, type SocketModeConnection } from '../helpers/fake-socket-mode';
import { inThread, INSTANCES, parentTs, POLL_MS, Replicas, statusesIn } from '../helpers/replicas';

/**
 * Replicas in Socket Mode: each opens its own connection and Slack hands every envelope to one
 * of them. Whichever connection a command arrives on, the backup is tracked once by the
 * leader; with the leader killed, the survivor's connection goes on serving and it leads.
 */

const APP_TOKEN = 'xapp-1-replicas';

let mainJs: string;

beforeAll(() => {
  mainJs = buildForProcessTests('replicas-socket');
}, 120_000);

/** A slash command as Socket Mode carries it: the HTTP form body as a JSON object. */
function command(h: Harness, text: string): Record<string, string> {
  const body = slashCommandBody({ user: ALICE, channel: OPS, text, responseUrl: h.slack.responseUrlFor({ user: ALICE.id, channel: OPS.id }) });
  return Object.fromEntries(new URLSearchParams(body));
}

describe('replicas in Socket Mode', () => {
  let socket: FakeSocketModeServer | undefined;
  let r: Replicas | undefined;

  afterEach(async () => {
    await (r ? r.close() : reapAll());
    r = undefined;
    await socket?.close();
    expect(socket?.connections.flatMap((c) => c.violations)).toEqual([]);
  });

  it('a command on either connection is tracked once by the leader; the leader killed, the survivor serves on its own connection and leads', async () => {
    socket = await FakeSocketModeServer.start();
    const sm = socket;
    r = await Replicas.start({
      mainJs,
      count: 2,
      pollMs: POLL_MS,
      simulator: { instances: INSTANCES },
      slack: { socketModeUrl: sm.url, appToken: APP_TOKEN },
      // '' unsets the harness's signing secret: Socket Mode needs none.
      env: { SLACK_APP_TOKEN: APP_TOKEN, SLACK_SIGNING_SECRET: '' },
    });
    const { h } = r;
    // A replica is ready only with its socket up: both connections are open.
    const open = (): SocketModeConnection[] => sm.connections.filter((c) => !c.isClosed);
    expect(open()).toHaveLength(2);

    // One command on each connection: one of them is the follower's.
    const threads: string[] = [];
    for (const [i, instance] of ['pg-a', 'pg-b'].entries()) {
      await (open()[i] as SocketModeConnection).deliver('slash_commands', command(h, `now ${instance}`));
      const ts = await parentTs(h, instance);
      await h.waitFor('chat.postMessage', inThread(ts, /queued/));
      threads.push(ts);
    }

    const first = await r.leader();
    await killHard(first);
    const survivor = await r.leader(r.bots.filter((b) => b !== first));
    // Bounded: the killed replica's socket closes with its process.
    await until('the killed replica’s connection closed', () => (open().length === 1 ? true : undefined));
    await h.sim.step();
    for (const ts of threads) await h.waitFor('chat.postMessage', inThread(ts, /running/));
    await h.sim.step();
    for (const ts of threads) {
      await h.waitFor('chat.postMessage', inThread(ts, /done/));
      await h.waitFor('chat.update', (a) => a.ts === ts && /done/.test(textOf(a)));
      expect(statusesIn(h, ts)).toEqual(['queued', 'running', 'done']);
    }

    // The survivor's connection serves the next command, tracked by the survivor as leader.
    await (open()[0] as SocketModeConnection).deliver('slash_commands', command(h, 'now pg-c'));
    const later = await parentTs(h, 'pg-c');
    await h.waitFor('chat.postMessage', inThread(later, /queued/));
    expect(survivor).not.toBe(first);
    expect(h.managerRequests('POST', '/backup_agent/backup')).toHaveLength(3);
  });
});
