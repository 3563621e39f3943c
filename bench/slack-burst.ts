import { signSlackRequest, slashCommandBody } from '../src/sandbox/slack-requests';
import type { RecordedCall } from '../src/sandbox/fake-slack';
import { ALICE, OPS, SIGNING_SECRET, botEnv, startFakes, startInProcessBot } from './lib/fakes';
import { httpRequest, sleep, until } from './lib/http';
import { progress, report, round } from './lib/report';
import { runBench } from './lib/run';

/**
 * 100 `/pgbackup now` in one channel within a second, against a fake Slack that answers
 * more than N writes per channel per second with 429 and Retry-After. Slack's real limit is
 * about 1 per second; to keep the run short, time is scaled 20×: the fake allows 20 writes
 * per channel per second and the bot spaces its writes by SLACK_CHANNEL_INTERVAL_MS=50
 * (the production default is 1000 against 1/s). Every parent message must arrive, no write
 * may be refused after the first, and each thread must read queued → running → done.
 */

const NAME = 'slack-burst';
const COMMANDS = 100;
const SCALE = 20;
const CHANNEL_INTERVAL_MS = 1000 / SCALE;
const STATUSES = ['queued', 'running', 'done'] as const;

const ok = (c: RecordedCall) => c.status === 200 && c.response.ok === true;
const isParent = (c: RecordedCall) => c.method === 'chat.postMessage' && c.args.channel === OPS.id && c.args.thread_ts === undefined && ok(c);
const replyStatus = (c: RecordedCall): string | undefined =>
  c.method === 'chat.postMessage' && typeof c.args.thread_ts === 'string' && ok(c) ? / is (queued|running|done)\b/.exec(String(c.args.text))?.[1] : undefined;

runBench(NAME, 90_000, async (defer) => {
  const fakes = await startFakes({ rateLimit: { perChannelPerSecond: SCALE } });
  defer(() => fakes.close());
  const bot = await startInProcessBot(botEnv(fakes, { POLL_INTERVAL_MS: '100', SLACK_CHANNEL_INTERVAL_MS: String(CHANNEL_INTERVAL_MS) }));
  defer(() => bot.stop({ drainMs: 1000 }));
  const { sim, slack } = fakes;
  const { store, outbox } = bot.deps;
  const started = Date.now();
  const acks = await Promise.all(
    Array.from({ length: COMMANDS }, async (_, i) => {
      await sleep(i * (900 / COMMANDS));
      const body = slashCommandBody({ user: ALICE, channel: OPS, text: 'now', responseUrl: slack.responseUrlFor({ user: ALICE.id, channel: OPS.id }) });
      return httpRequest(`${bot.url}/slack/events`, { method: 'POST', headers: signSlackRequest(SIGNING_SECRET, body).headers, body });
    }),
  );
  const sentWithinMs = Date.now() - started;
  const badAcks = acks.filter((a) => a.status !== 200).length;
  if (badAcks > 0) throw new Error(`${badAcks} commands were not acked with 200`);
  progress(NAME, `${COMMANDS} commands acked within ${sentWithinMs} ms; waiting for the parent messages`);

  // Bounded: 100 parents and their queued replies at 20/s take about 10 s.
  await until('every parent message', () => slack.calls.filter(isParent).length >= COMMANDS, 40_000, 50);
  await until('every task to have its parent ts', () => store.tasks.listActive().filter((t) => t.parentTs !== null).length >= COMMANDS, 10_000, 20);
  await sim.step();
  await until('the poller to see every backup running', () => store.tasks.listActive().every((t) => t.status === 'running'), 10_000, 20);
  await sim.step();
  await until('every done reply', () => slack.calls.filter((c) => replyStatus(c) === 'done').length >= COMMANDS, 40_000, 50);
  await until('the outbox to drain', () => outbox.depth() === 0, 10_000, 20);
  const elapsedS = (Date.now() - started) / 1000;

  const calls = slack.calls.filter((c) => c.method === 'chat.postMessage' || c.method === 'chat.update');
  const rejected = calls.filter((c) => c.status === 429).length;
  const parents = calls.filter(isParent);
  const threads = new Map<string, string[]>(parents.map((p) => [String(p.response.ts), []]));
  for (const c of calls) {
    const status = replyStatus(c);
    if (status !== undefined) threads.get(String(c.args.thread_ts))?.push(status);
  }
  const inOrder = [...threads.values()].filter((seq) => seq.join(',') === STATUSES.join(',')).length;
  const scaled = `time scaled ${SCALE}x: fake Slack allows ${SCALE} writes/s per channel (real: ~1/s), bot SLACK_CHANNEL_INTERVAL_MS=${CHANNEL_INTERVAL_MS} (real default 1000)`;
  const writes = `${calls.length} chat.postMessage/chat.update calls in ${round(elapsedS, 1)} s`;

  report({
    name: `${NAME}.rejected_after_first`,
    value: Math.max(0, rejected - 1),
    unit: 'calls answered 429',
    target: '== 0',
    pass: rejected <= 1,
    note: `${COMMANDS} /pgbackup now in one channel within ${sentWithinMs} ms; ${rejected} 429s in all; ${writes}; ${scaled}`,
  });
  report({
    name: `${NAME}.parents_delivered`,
    value: round((100 * parents.length) / COMMANDS, 1),
    unit: '%',
    target: '== 100',
    pass: parents.length === COMMANDS,
    note: `${parents.length} of ${COMMANDS} parent messages posted; ${scaled}`,
  });
  report({
    name: `${NAME}.threads_in_order`,
    value: round((100 * inOrder) / COMMANDS, 1),
    unit: '%',
    target: '== 100',
    pass: inOrder === COMMANDS,
    note: `threads whose replies arrived exactly queued, running, done: ${inOrder} of ${COMMANDS}; ${scaled}`,
  });
  report({
    name: `${NAME}.writes_per_second`,
    value: round(calls.length / elapsedS, 1),
    unit: 'Slack writes/s in the channel',
    target: `<= ${SCALE}`,
    pass: calls.length / elapsedS <= SCALE,
    note: `${writes} (parents, replies and coalesced parent updates); ${scaled}`,
  });
});
