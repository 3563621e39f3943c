import { fork } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ALICE, OPS, botEnv, startFakes, startInProcessBot } from './lib/fakes';
import { sleep } from './lib/http';

/** Polls `done` every 20 ms, for at most 5 s. */
async function until(done: () => boolean): Promise<void> {
  for (let i = 0; i < 250 && !done(); i++) await sleep(20);
  if (!done()) throw new Error('condition not reached within 5 s');
}
import { progress, report, round } from './lib/report';
import { runBench } from './lib/run';

/**
 * The one instance reader, measured through the real bot:
 * 1. A failure watch over 1,000 instances at WATCH_INTERVAL_MS=2000 against a loopback
 *    manager that answers each read after a few milliseconds: every instance read once per
 *    interval (±5 %), never more than MANAGER_CONCURRENCY reads in flight, and the reads
 *    spread over the interval (no second with more than twice the mean rate).
 * 2. An instance with a tracked backup, a followed restore and a watch is read once per
 *    POLL_INTERVAL_MS, not three times.
 */

const NAME = 'reader-fan-in';
const WATCHED = 1000;
const WATCH_INTERVAL_MS = 2000;
const CONCURRENCY = 4;
const MANAGER_LATENCY_MS = 1;
const MEASURED_INTERVALS = 4;

interface ManagerReport {
  reads: { instance: string; at: number }[];
  maxInFlight: number;
}

interface Counting {
  url: string;
  report(): Promise<ManagerReport>;
  close(): Promise<void>;
}

/** A manager that only knows `GET /instances/<guid>`: an empty instance, after a short delay. */
function serveCountingManager(onListening: (url: string) => void): () => ManagerReport {
  const state: ManagerReport = { reads: [], maxInFlight: 0 };
  let inFlight = 0;
  let nextId = 1;
  const ids = new Map<string, number>();
  const server = createServer((req, res) => {
    const match = /^\/instances\/([^/?]+)/.exec(req.url ?? '');
    if (req.method !== 'GET' || !match) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"NotFound"}');
      return;
    }
    const instance = decodeURIComponent(match[1] as string);
    inFlight++;
    state.maxInFlight = Math.max(state.maxInFlight, inFlight);
    state.reads.push({ instance, at: Date.now() });
    setTimeout(() => {
      inFlight--;
      const id = ids.get(instance) ?? nextId++;
      ids.set(instance, id);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id, instance_id: instance, guid: null, backups: [], restores: [] }));
    }, MANAGER_LATENCY_MS);
  });
  server.listen(0, '127.0.0.1', () => onListening(`http://127.0.0.1:${(server.address() as AddressInfo).port}`));
  return () => state;
}

/**
 * The counting manager in a child process of its own, so that its work does not share the
 * bot's event loop (in one process the two together, not the reader, would set the pace).
 */
async function countingManager(): Promise<Counting> {
  const child = fork(__filename, [], { env: { ...process.env, READER_BENCH_ROLE: 'manager' }, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const url = await new Promise<string>((resolve, reject) => {
    child.once('message', (m) => resolve((m as { url: string }).url));
    child.once('exit', () => reject(new Error('the counting manager exited before it listened')));
  });
  return {
    url,
    report: () =>
      new Promise<ManagerReport>((resolve) => {
        child.once('message', (m) => resolve(m as ManagerReport));
        child.send('report');
      }),
    close: async () => {
      child.kill();
      await once(child, 'exit');
    },
  };
}

if (process.env.READER_BENCH_ROLE === 'manager') {
  const report = serveCountingManager((url) => process.send?.({ url }));
  process.on('message', () => process.send?.(report()));
  process.on('disconnect', () => process.exit(0));
} else {
runBench(NAME, 90_000, async (defer) => {
  // 1. The watch over 1,000 instances.
  const fakes = await startFakes();
  defer(() => fakes.close());
  const manager = await countingManager();
  defer(() => manager.close());
  const instances = Array.from({ length: WATCHED }, (_, i) => `pg-${String(i).padStart(4, '0')}`);
  const bot = await startInProcessBot(
    botEnv(fakes, {
      BACKUP_MANAGER_URL: manager.url,
      DEFAULT_INSTANCE: instances[0] as string,
      WATCH_INSTANCES: instances.join(','),
      WATCH_INTERVAL_MS: String(WATCH_INTERVAL_MS),
      MANAGER_CONCURRENCY: String(CONCURRENCY),
    }),
  );
  defer(() => bot.stop({ drainMs: 1000 }));
  progress(NAME, `watching ${WATCHED} instances every ${WATCH_INTERVAL_MS} ms, MANAGER_CONCURRENCY=${CONCURRENCY}`);
  await sleep(WATCH_INTERVAL_MS); // the first interval places every instance
  const from = Date.now();
  const windowMs = MEASURED_INTERVALS * WATCH_INTERVAL_MS;
  await sleep(windowMs + 100);
  const seen = await manager.report();
  const inWindow = seen.reads.filter((r) => r.at >= from && r.at < from + windowMs && r.instance !== instances[0]);
  // Per instance, the mean time between its reads in the window: one read per interval means
  // WATCH_INTERVAL_MS exactly. (Counting reads in the window would be off by one at its edges.)
  const times = new Map<string, number[]>();
  for (const r of inWindow) times.set(r.instance, [...(times.get(r.instance) ?? []), r.at]);
  const readsPerInterval = instances.slice(1).map((i) => {
    const t = (times.get(i) ?? []).sort((a, b) => a - b);
    if (t.length < 2) return 0;
    return WATCH_INTERVAL_MS / (((t.at(-1) as number) - (t[0] as number)) / (t.length - 1));
  });
  const low = Math.min(...readsPerInterval);
  const high = Math.max(...readsPerInterval);
  report({
    name: `${NAME}.watch_reads_per_instance_per_interval`,
    value: round(readsPerInterval.reduce((a, b) => a + b, 0) / readsPerInterval.length),
    unit: 'reads per instance per interval (mean over instances)',
    target: '1 ± 5 % for every instance',
    pass: low >= 0.95 && high <= 1.05,
    note: `${WATCHED} watched instances, WATCH_INTERVAL_MS=${WATCH_INTERVAL_MS}, ${MEASURED_INTERVALS} intervals; per instance from ${round(low)} to ${round(high)}`,
  });
  report({
    name: `${NAME}.max_in_flight`,
    value: seen.maxInFlight,
    unit: 'requests',
    target: `<= MANAGER_CONCURRENCY (${CONCURRENCY})`,
    pass: seen.maxInFlight <= CONCURRENCY,
    note: `manager answers after ${MANAGER_LATENCY_MS} ms`,
  });
  const seconds = Math.floor(windowMs / 1000);
  const perSecond = Array.from({ length: seconds }, (_, s) => inWindow.filter((r) => r.at >= from + s * 1000 && r.at < from + (s + 1) * 1000).length);
  const mean = inWindow.length / seconds;
  const peak = Math.max(...perSecond);
  report({
    name: `${NAME}.watch_peak_to_mean_rate`,
    value: round(peak / mean),
    unit: 'ratio of the busiest second to the mean',
    target: '<= 2',
    pass: peak <= 2 * mean,
    note: `reads per second: ${perSecond.join(', ')}`,
  });
  await bot.stop({ drainMs: 1000 });

  // 2. One instance, three subscribers: a tracked backup, a followed restore, a watch.
  const pollMs = 200;
  const fakes2 = await startFakes();
  defer(() => fakes2.close());
  const instance = 'pg-orders';
  const bot2 = await startInProcessBot(
    botEnv(fakes2, { POLL_INTERVAL_MS: String(pollMs), WATCH_INSTANCES: instance, WATCH_INTERVAL_MS: String(pollMs * 5), SLACK_CHANNEL_INTERVAL_MS: '0' }),
  );
  defer(() => bot2.stop({ drainMs: 1000 }));
  const { store, poller } = bot2.deps;
  const now = Date.now();
  const backupId = fakes2.sim.seedBackup(instance, { status: 'running' });
  const task = store.tasks.track({ instance, backupId, channel: OPS.id, requester: ALICE.id, status: 'running', at: now });
  store.tasks.setParentTs(task.id, `${Math.floor(now / 1000)}.000001`);
  poller.wake(instance);
  // A restore of another backup of the same instance, approved and running: the simulator
  // never steps, so it stays running and its follow-up keeps reading the instance.
  const restoreOf = fakes2.sim.seedBackup(instance, { status: 'done', createdAt: new Date(now - 3_600_000) });
  const view = fakes2.sim.view(instance);
  const req = store.restores.create({
    instance,
    instanceNumericId: view.id,
    backupId: restoreOf,
    backupName: null,
    backupSize: null,
    backupCreatedAt: null,
    newerBackups: [],
    requester: ALICE.id,
    reason: 'bench',
    channel: OPS.id,
    approvalsNeeded: 1,
    createdAt: now,
    expiresAt: now + 3_600_000,
  });
  store.restores.setCardTs(req.id, `${Math.floor(now / 1000)}.000002`);
  store.restores.approve(req.id, 'U0BOB', now);
  bot2.runner.start(store.restores.get(req.id) as NonNullable<ReturnType<typeof store.restores.get>>);
  await until(() => store.restores.get(req.id)?.state === 'running');
  await sleep(3 * pollMs);
  const from2 = Date.now();
  const intervals = 10;
  await sleep(intervals * pollMs + 50);
  const gets = fakes2.sim.requests.filter((r) => r.method === 'GET' && r.path === `/instances/${instance}` && r.at.getTime() >= from2 && r.at.getTime() < from2 + intervals * pollMs);
  const per = gets.length / intervals;
  report({
    name: `${NAME}.reads_per_poll_interval_three_subscribers`,
    value: round(per),
    unit: `GET /instances/${instance} per POLL_INTERVAL_MS`,
    target: '<= 1 (not 3)',
    pass: per <= 1.1,
    note: `tracked backup + followed restore + failure watch on ${instance}, POLL_INTERVAL_MS=${pollMs}; ${gets.length} reads in ${intervals} intervals`,
  });
});
}
