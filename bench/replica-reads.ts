import type { RecordedRequest } from '../src/simulator';
import { openStore } from '../src/ports/store';
import { ALICE, INSTANCES, OPS, botEnv, startFakes, type Fakes } from './lib/fakes';
import { sleep } from './lib/http';
import { oneLeader, startPostgres, startReplicas } from './lib/replicas';
import { progress, report, round } from './lib/report';
import { runBench, type Defer } from './lib/run';

/**
 * Manager reads do not multiply with replicas: the same workload (running backups tracked over
 * three instances, and three more instances only watched) on one PostgreSQL, once with one
 * replica and once with three. Only the leader reads; a follower reads nothing on its own.
 * The simulator records every request; counted over the same number of poll intervals.
 *
 * Nobody asks /readyz while counting: every /readyz reads the default instance (the manager
 * check), so an orchestrator's readiness probes do cost one read per replica per probe.
 */

const NAME = 'replica-reads';
const TASKS = 300;
const WATCH_ONLY = ['pg-watch-1', 'pg-watch-2', 'pg-watch-3'];
const POLL_MS = 500;
const WATCH_MS = 1000;
/** After the leader is known: its first reads of an active instance come one interval after it subscribes, of a watched one within one watch interval. */
const WARMUP_MS = 3 * POLL_MS;
const MEASURED_INTERVALS = 12;
const WAIT_MS = 15_000;

interface Count {
  /** GET /instances/* in the window. */
  reads: number;
  /** Every other request in the window, by method and path. */
  others: Map<string, number>;
  instancesRead: number;
}

/** The tracked backups of the workload, in a fresh database: the same backups of the simulator each time. */
function seedStore(url: string, backupIds: readonly number[]): void {
  const store = openStore(url);
  try {
    const now = Date.now();
    store.transaction(() => {
      backupIds.forEach((backupId, i) => {
        const instance = INSTANCES[i % INSTANCES.length] as string;
        const task = store.tasks.track({ instance, backupId, channel: OPS.id, requester: ALICE.id, status: 'running', at: now });
        store.tasks.setParentTs(task.id, `${Math.floor(now / 1000)}.${String(i).padStart(6, '0')}`);
      });
    });
  } finally {
    store.close();
  }
}

function countWindow(requests: readonly RecordedRequest[], from: number, to: number): Count {
  const inWindow = requests.filter((r) => r.at.getTime() >= from && r.at.getTime() < to);
  const reads = inWindow.filter((r) => r.method === 'GET' && r.path.startsWith('/instances/'));
  const others = new Map<string, number>();
  for (const r of inWindow) {
    if (reads.includes(r)) continue;
    const key = `${r.method} ${r.path}`;
    others.set(key, (others.get(key) ?? 0) + 1);
  }
  return { reads: reads.length, others, instancesRead: new Set(reads.map((r) => r.path)).size };
}

/** Runs the workload with `replicas` replicas on a fresh database and counts what the simulator saw; stops them again. */
async function measure(fakes: Fakes, newDatabase: (prefix: string) => Promise<string>, backupIds: readonly number[], replicas: number, defer: Defer): Promise<Count> {
  const url = await newDatabase(`bench_reads_${replicas}`);
  seedStore(url, backupIds);
  const env = botEnv(fakes, {
    STATE_DB: url,
    POLL_INTERVAL_MS: String(POLL_MS),
    WATCH_INTERVAL_MS: String(WATCH_MS),
    WATCH_INSTANCES: [...INSTANCES, ...WATCH_ONLY].join(','),
    SLACK_CHANNEL_INTERVAL_MS: '0',
  });
  const bots = await startReplicas(replicas, env, defer);
  await oneLeader(bots, WAIT_MS);
  await sleep(WARMUP_MS);
  const from = Date.now();
  const windowMs = MEASURED_INTERVALS * POLL_MS;
  await sleep(windowMs + 50);
  const count = countWindow(fakes.sim.requests, from, from + windowMs);
  await Promise.all(bots.map((b) => b.stop()));
  progress(NAME, `${replicas} replica(s): ${count.reads} GET /instances/* of ${count.instancesRead} instances in ${MEASURED_INTERVALS} intervals`);
  return count;
}

const describe = (c: Count): string => (c.others.size === 0 ? 'no other request' : [...c.others].map(([k, n]) => `${n} × ${k}`).join(', '));

runBench(NAME, 90_000, async (defer) => {
  const newDatabase = await startPostgres(defer);
  const fakes = await startFakes();
  defer(() => fakes.close());
  for (const instance of WATCH_ONLY) fakes.sim.addInstance(instance);
  const backupIds = Array.from({ length: TASKS }, (_, i) => fakes.sim.seedBackup(INSTANCES[i % INSTANCES.length] as string, { status: 'running' }));

  const one = await measure(fakes, newDatabase, backupIds, 1, defer);
  const three = await measure(fakes, newDatabase, backupIds, 3, defer);

  // A periodic read falls into a window of whole intervals once more or once less depending on its
  // phase: at most one read more per instance read, whatever the number of replicas.
  const instances = INSTANCES.length + WATCH_ONLY.length;
  const limit = round(1 + instances / one.reads);
  const ratio = three.reads / one.reads;
  const workload = `${TASKS} running backups tracked on ${INSTANCES.length} instances, ${instances} instances watched (${WATCH_ONLY.length} only watched), POLL_INTERVAL_MS=${POLL_MS}, WATCH_INTERVAL_MS=${WATCH_MS}, one PostgreSQL 17, no /readyz asked while counting`;
  report({
    name: `${NAME}.one_replica`,
    value: round(one.reads / MEASURED_INTERVALS),
    unit: 'GET /instances/* per poll interval',
    target: 'none (reported)',
    pass: true,
    note: `${workload}; ${one.reads} in ${MEASURED_INTERVALS} intervals over ${one.instancesRead} instances; ${describe(one)}`,
  });
  report({
    name: `${NAME}.three_replicas`,
    value: round(three.reads / MEASURED_INTERVALS),
    unit: 'GET /instances/* per poll interval',
    baseline: round(one.reads / MEASURED_INTERVALS),
    ratio: round(ratio),
    target: `ratio <= ${limit} (1 + one read per instance at the window's edges)`,
    pass: ratio <= limit,
    note: `${workload}; ${three.reads} in ${MEASURED_INTERVALS} intervals over ${three.instancesRead} instances; ${describe(three)}`,
  });
});
