import { join } from 'node:path';
import { renderBackupParent, renderTransitionReply } from '../src/outbound/messages/backup-task';
import { openStore, type TrackedTask } from '../src/ports/store';
import { rssBytes, spawnBot } from './lib/child';
import { ALICE, INSTANCES, OPS, botEnv, startFakes, type Fakes } from './lib/fakes';
import { httpRequest, sleep } from './lib/http';
import { progress, report, round } from './lib/report';
import { runBench } from './lib/run';
import { median } from './lib/stats';

/**
 * The bot as a real process (`node dist/main.js`) against the loopback fakes:
 * - RSS with 10,000 tracked tasks in its SQLite store (most finished, some still being
 *   polled, with the outbox jobs and audit entries such a history leaves), read from
 *   /proc/<pid>/status once it is ready and has polled for a while;
 * - time from spawn() to the first 200 of GET /readyz, median of 5 starts.
 * The baseline of both is the same bot with an empty store.
 */

const NAME = 'memory-startup';
const TASKS = 10_000;
const ACTIVE = 150;
const STARTS = 5;
const POLL_INTERVAL_MS = 200;
/** Time after /readyz before RSS is read: several polls of the active tasks. */
const SETTLE_MS = 1500;
const RSS_TARGET_MB = 120;
const READY_TARGET_MS = 1000;
const MB = 1024 * 1024;

/** A history of TASKS backups over three instances: ACTIVE still running, the rest done or failed. */
function seedHistory(path: string, fakes: Fakes): void {
  const store = openStore(path);
  const day = 24 * 3600 * 1000;
  const now = Date.now();
  store.transaction(() => {
    for (let i = 0; i < TASKS; i++) {
      const instance = INSTANCES[i % INSTANCES.length] as string;
      const active = i >= TASKS - ACTIVE;
      const at = now - (TASKS - i) * (90 * day / TASKS);
      const backupId = active ? fakes.sim.seedBackup(instance, { status: 'running' }) : 100_000 + i;
      const task = store.tasks.track({ instance, backupId, channel: OPS.id, requester: ALICE.id, status: 'queued', at });
      const ts = `${Math.floor(at / 1000)}.${String(i).padStart(6, '0')}`;
      store.tasks.setParentTs(task.id, ts);
      const jobs: Array<{ key: string; method: 'chat.postMessage' | 'chat.update'; payload: Record<string, unknown> }> = [
        { key: `task:${task.id}:parent`, method: 'chat.postMessage', payload: { channel: OPS.id, ...renderBackupParent(task) } },
        { key: `task:${task.id}:reply:queued`, method: 'chat.postMessage', payload: { channel: OPS.id, thread_ts: ts, ...renderTransitionReply(task, 'queued') } },
      ];
      const final = i % 25 === 0 ? 'failed' : 'done';
      const steps: Array<[TrackedTask['status'], boolean]> = active ? [['running', true]] : [['running', true], [final, false]];
      let from: TrackedTask['status'] = 'queued';
      for (const [status, stillActive] of steps) {
        const done = status === 'done';
        store.tasks.transition(task.id, from, {
          status,
          backupName: done ? `${instance}-${at}` : null,
          size: done ? 40_000_000 + i * 1000 : null,
          msg: status === 'failed' ? 'pg_dump: error: connection to server was lost' : null,
          at: at + 60_000,
          active: stillActive,
        });
        from = status;
        const updated = store.tasks.get(task.id) as TrackedTask;
        jobs.push({ key: `task:${task.id}:reply:${status}`, method: 'chat.postMessage', payload: { channel: OPS.id, thread_ts: ts, ...renderTransitionReply(updated, status) } });
        jobs.push({ key: `task:${task.id}:parent:${status}`, method: 'chat.update', payload: { channel: OPS.id, ts, ...renderBackupParent(updated) } });
      }
      for (const job of jobs) {
        const stored = store.outbox.add({ ...job, channel: OPS.id }, at);
        if (stored) store.outbox.markSent(stored.id, ts, at);
      }
      store.audit.record({ at, actor: ALICE.id, action: 'backup.trigger', instance, requestId: null, details: { backupId, channel: OPS.id } });
    }
  });
  const active = store.tasks.listActive().length;
  store.close();
  if (active !== ACTIVE) throw new Error(`expected ${ACTIVE} active tasks, found ${active}`);
}

/** RSS from /proc, or from the bot's own /metrics where /proc is not there. */
async function residentBytes(pid: number, url: string): Promise<number> {
  const fromProc = rssBytes(pid);
  if (fromProc !== undefined) return fromProc;
  const text = (await httpRequest(`${url}/metrics`)).text;
  const match = /^pgbackup_process_resident_memory_bytes (\d+)/m.exec(text);
  if (!match?.[1]) throw new Error('no RSS in /proc or /metrics');
  return Number(match[1]);
}

runBench(NAME, 150_000, async (defer) => {
  const fakes = await startFakes();
  defer(() => fakes.close());
  const stores = { full: join(fakes.dir, 'full.sqlite'), empty: join(fakes.dir, 'empty.sqlite') };
  const seeded = Date.now();
  seedHistory(stores.full, fakes);
  openStore(stores.empty).close();
  progress(NAME, `store with ${TASKS} tasks (${ACTIVE} active) written in ${Date.now() - seeded} ms; ${STARTS} starts each, alternating empty/full`);

  const ready: Record<'full' | 'empty', number[]> = { full: [], empty: [] };
  const rss: Record<'full' | 'empty', number[]> = { full: [], empty: [] };
  for (let i = 0; i < STARTS; i++) {
    for (const which of ['empty', 'full'] as const) {
      const env = botEnv(fakes, { STATE_DB: stores[which], POLL_INTERVAL_MS: String(POLL_INTERVAL_MS) });
      const { bot, readyMs } = await spawnBot(env);
      let bytes: number;
      try {
        await sleep(SETTLE_MS);
        bytes = await residentBytes(bot.pid, bot.url);
      } finally {
        await bot.stop();
      }
      if (bot.child.exitCode !== 0) throw new Error(`bot exited with ${bot.child.exitCode ?? bot.child.signalCode} on SIGTERM: ${bot.stderr()}`);
      rss[which].push(bytes);
      ready[which].push(readyMs);
    }
  }
  const polls = fakes.sim.requests.filter((r) => r.method === 'GET' && r.path.startsWith('/instances/')).length;

  const rssFull = Math.max(...rss.full) / MB;
  const rssEmpty = Math.max(...rss.empty) / MB;
  report({
    name: `${NAME}.rss`,
    value: round(rssFull, 1),
    unit: 'MB',
    baseline: round(rssEmpty, 1),
    ratio: round(rssFull / rssEmpty),
    target: `<= ${RSS_TARGET_MB}`,
    pass: rssFull <= RSS_TARGET_MB,
    note: `max VmRSS over ${STARTS} starts, ${SETTLE_MS} ms after /readyz, store with ${TASKS} tracked tasks (${ACTIVE} active, polled every ${POLL_INTERVAL_MS} ms; ${polls} GET /instances/* in all, readiness checks included), their outbox jobs and audit entries; baseline = same bot, empty store`,
  });
  const readyFull = median(ready.full);
  const readyEmpty = median(ready.empty);
  report({
    name: `${NAME}.spawn_to_ready`,
    value: round(readyFull, 1),
    unit: 'ms',
    baseline: round(readyEmpty, 1),
    ratio: round(readyFull / readyEmpty),
    target: `<= ${READY_TARGET_MS}`,
    pass: readyFull <= READY_TARGET_MS,
    note: `median of ${STARTS} starts (${ready.full.map((n) => Math.round(n)).join(', ')} ms) from spawn() of node dist/main.js to the first 200 of GET /readyz (Slack auth and Backup Manager checked against loopback fakes), store with ${TASKS} tasks; baseline = empty store`,
  });
});
