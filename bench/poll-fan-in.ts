import { ALICE, INSTANCES, OPS, botEnv, startFakes, startInProcessBot } from './lib/fakes';
import { sleep } from './lib/http';
import { progress, report, round } from './lib/report';
import { runBench } from './lib/run';

/**
 * Polling is per instance, not per task: 1,000 active tracked backups spread over three
 * instances must cost three `GET /instances/<guid>` per poll interval, not 1,000. The
 * backups exist in the simulator (running, never stepped), so every poll finds them
 * unchanged and the bot keeps polling all three instances.
 */

const NAME = 'poll-fan-in';
const TASKS = 1000;
const INTERVAL_MS = 200;
const WARMUP_INTERVALS = 3;
const MEASURED_INTERVALS = 10;

runBench(NAME, 60_000, async (defer) => {
  const fakes = await startFakes();
  defer(() => fakes.close());
  const bot = await startInProcessBot(botEnv(fakes, { POLL_INTERVAL_MS: String(INTERVAL_MS), SLACK_CHANNEL_INTERVAL_MS: '0' }));
  defer(() => bot.stop({ drainMs: 1000 }));
  const { store, poller } = bot.deps;
  const now = Date.now();
  store.transaction(() => {
    for (let i = 0; i < TASKS; i++) {
      const instance = INSTANCES[i % INSTANCES.length] as string;
      const backupId = fakes.sim.seedBackup(instance, { status: 'running' });
      const task = store.tasks.track({ instance, backupId, channel: OPS.id, requester: ALICE.id, status: 'running', at: now });
      store.tasks.setParentTs(task.id, `${Math.floor(now / 1000)}.${String(i).padStart(6, '0')}`);
    }
  });
  for (const instance of INSTANCES) poller.wake(instance);
  progress(NAME, `${store.tasks.listActive().length} active tasks on ${INSTANCES.length} instances; polling every ${INTERVAL_MS} ms`);

  await sleep(WARMUP_INTERVALS * INTERVAL_MS);
  const from = Date.now();
  const windowMs = MEASURED_INTERVALS * INTERVAL_MS;
  await sleep(windowMs + 50);
  const gets = fakes.sim.requests.filter((r) => r.method === 'GET' && r.path.startsWith('/instances/') && r.at.getTime() >= from && r.at.getTime() < from + windowMs);
  const perInstance = new Map<string, number>();
  for (const r of gets) perInstance.set(r.path, (perInstance.get(r.path) ?? 0) + 1);
  const stillActive = store.tasks.listActive().length;
  if (stillActive !== TASKS) throw new Error(`expected ${TASKS} tasks to stay active, ${stillActive} are`);

  const perInterval = gets.length / MEASURED_INTERVALS;
  report({
    name: `${NAME}.gets_per_interval`,
    value: round(perInterval),
    unit: 'GET /instances/* per interval',
    target: `<= ${INSTANCES.length}`,
    pass: perInterval <= INSTANCES.length && perInstance.size === INSTANCES.length,
    note: `${TASKS} active tracked tasks on ${INSTANCES.length} instances, POLL_INTERVAL_MS=${INTERVAL_MS}, ${gets.length} GETs in ${MEASURED_INTERVALS} intervals (${[...perInstance.values()].join('/')} per instance); one GET per task would be ${TASKS} per interval`,
  });
});
