import type { Simulator } from './server';

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * A week of nightly history (the default cron `30 1 * * *`) so the sandbox has something to
 * list and restore: the oldest backup already `deleted` by retention, one `failed`.
 */
export function seedDemoHistory(sim: Simulator, instances: readonly string[], now: Date = new Date()): void {
  const lastNight = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate(), 1, 30));
  if (lastNight.getTime() > now.getTime()) lastNight.setTime(lastNight.getTime() - DAY_MS);
  for (const instance of instances) {
    for (let daysAgo = 6; daysAgo >= 0; daysAgo--) {
      const createdAt = new Date(lastNight.getTime() - daysAgo * DAY_MS);
      if (daysAgo === 6) sim.seedBackup(instance, { status: 'deleted', createdAt });
      else if (daysAgo === 3) sim.seedBackup(instance, { status: 'failed', msg: 'pg_dump: error: connection to server was lost', createdAt });
      else sim.seedBackup(instance, { status: 'done', createdAt });
    }
  }
}
