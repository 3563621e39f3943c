import { Agent } from 'node:http';
import { signSlackRequest, slashCommandBody } from '../src/sandbox/slack-requests';
import { openStore } from '../src/ports/store';
import { spawnBot, spawnHelper } from './lib/child';
import { ALICE, BOT_TOKEN, INSTANCES, OPS, SIGNING_SECRET, botEnv, startFakes, type Fakes } from './lib/fakes';
import { httpRequest, sleep } from './lib/http';
import { progress, report, round } from './lib/report';
import { runBench } from './lib/run';
import { percentile } from './lib/stats';

/**
 * Ack latency of a signed `/pgbackup list` against the real bot (`node dist/main.js`) with
 * 1,000 active tracked tasks, versus a bare Bolt app (HTTPReceiver and a listener that only
 * acks) served the same way: that app is the floor, and the figure that matters is the
 * ratio of the two p99s.
 *
 * Each server runs in its own process, so what is timed is what a caller sees, not this
 * process's own work. Requests go one at a time, alternating which of the two goes first,
 * each over one kept-alive connection, with a fresh signature each. After a bot request the
 * bench waits for the list to arrive at the response_url, and every request, bot or bare,
 * starts GAP_MS after the previous one ended. So the bot's work after its ack (the list
 * itself) never overlaps a measured request (back to back, whichever request came next was
 * timed behind the end of the previous list), and both apps start every request from the
 * same short idle.
 */

const NAME = 'ack-latency';
const TRACKED = 1000;
const WARMUP = 100;
const MEASURED = 3000;
const TARGET_RATIO = 1.1;
/** Pause before every request. */
const GAP_MS = 2;

type Which = 'bot' | 'bare';

interface Target {
  url: string;
  agent: Agent;
  awaitsReply: boolean;
}

/**
 * 1,000 active tasks with their parent messages posted, over the three instances, each a
 * backup the simulator has as running. (Tracked ids the manager does not know turn `unknown`
 * at the first `list` read of their instance, whose answer the poller gets too: the bot then
 * queues an update and a reply for every task and posts them, about one a second, all run long.)
 */
function seedStore(path: string, fakes: Fakes): void {
  const store = openStore(path);
  const now = Date.now();
  store.transaction(() => {
    for (let i = 0; i < TRACKED; i++) {
      const instance = INSTANCES[i % INSTANCES.length] as string;
      const backupId = fakes.sim.seedBackup(instance, { status: 'running' });
      const task = store.tasks.track({ instance, backupId, channel: OPS.id, requester: ALICE.id, status: 'running', at: now });
      store.tasks.setParentTs(task.id, `${Math.floor(now / 1000)}.${String(i).padStart(6, '0')}`);
    }
  });
  const tracked = store.tasks.listActive().length;
  store.close();
  if (tracked !== TRACKED) throw new Error(`expected ${TRACKED} tracked tasks, found ${tracked}`);
}

async function sendList(fakes: Fakes, target: Target): Promise<number> {
  const responseUrl = fakes.slack.responseUrlFor({ user: ALICE.id, channel: OPS.id });
  const responseId = responseUrl.slice(responseUrl.lastIndexOf('/') + 1);
  const body = slashCommandBody({ user: ALICE, channel: OPS, text: 'list', responseUrl });
  const signed = signSlackRequest(SIGNING_SECRET, body);
  const res = await httpRequest(target.url, { method: 'POST', headers: signed.headers, body, agent: target.agent });
  if (res.status !== 200) throw new Error(`${target.url} answered ${res.status}: ${res.text.slice(0, 200)}`);
  if (target.awaitsReply) await fakes.slack.waitForResponse((r) => r.id === responseId, 5000);
  return res.ms;
}

runBench(NAME, 120_000, async (defer) => {
  const fakes = await startFakes();
  defer(() => fakes.close());
  const env = botEnv(fakes, { POLL_INTERVAL_MS: '3600000' });
  seedStore(env.STATE_DB as string, fakes);
  // A poll interval of an hour: the 1,000 tasks sit in the store, tracked but not polled.
  const { bot } = await spawnBot(env);
  defer(() => bot.stop());
  const bare = await spawnHelper('bare-bolt-server.js', {
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_API_URL: fakes.slack.apiUrl,
  });
  defer(() => bare.stop());
  const targets: Record<Which, Target> = {
    bot: { url: `${bot.url}/slack/events`, agent: new Agent({ keepAlive: true, maxSockets: 1 }), awaitsReply: true },
    bare: { url: `${bare.url}/slack/events`, agent: new Agent({ keepAlive: true, maxSockets: 1 }), awaitsReply: false },
  };
  const samples: Record<Which, number[]> = { bot: [], bare: [] };
  defer(() => Object.values(targets).forEach((t) => t.agent.destroy()));
  progress(NAME, `bot pid ${bot.pid} with ${TRACKED} tracked tasks, bare Bolt pid ${bare.pid}; ${WARMUP} warm-up + ${MEASURED} measured requests each`);
  for (let i = 0; i < WARMUP + MEASURED; i++) {
    // Alternate which goes first; the same pause before every request, bot or bare.
    const order: Which[] = i % 2 === 0 ? ['bot', 'bare'] : ['bare', 'bot'];
    for (const which of order) {
      await sleep(GAP_MS);
      const ms = await sendList(fakes, targets[which]);
      if (i >= WARMUP) samples[which].push(ms);
    }
  }

  // The premise: the 1,000 tasks are idle. Any Slack write would be work competing with the acks.
  const writes = fakes.slack.calls.filter((c) => c.method.startsWith('chat.')).length;
  if (writes > 0) throw new Error(`the bot made ${writes} chat.* calls during the run; the tracked tasks were not idle`);

  const note = `signed /pgbackup list, one at a time, alternating bot/bare, ${GAP_MS} ms pause before each, ${MEASURED} each after ${WARMUP} warm-up, keep-alive; bot = node dist/main.js with ${TRACKED} active tracked tasks on ${INSTANCES.length} instances; baseline = bare Bolt HTTPReceiver app that only acks, own process`;
  for (const q of [50, 99]) {
    const value = percentile(samples.bot, q);
    const baseline = percentile(samples.bare, q);
    const ratio = value / baseline;
    const targeted = q === 99;
    report({
      name: `${NAME}.p${q}`,
      value: round(value, 3),
      unit: 'ms',
      baseline: round(baseline, 3),
      ratio: round(ratio),
      target: targeted ? `ratio <= ${TARGET_RATIO}` : 'none (reported)',
      pass: targeted ? ratio <= TARGET_RATIO : true,
      note,
    });
  }
});
