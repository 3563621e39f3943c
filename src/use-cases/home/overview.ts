import type { DetectedGeneration } from '../../ports/backup-manager/api';
import type { Backup, InstanceView } from '../../ports/backup-manager/schemas';
import type { InstanceOverview, Overview, RestoreInFlight, ThreadRef } from '../../domain/overview';
import type { RestoreRequest, StalenessRow, StoredHealth, TrackedTask } from '../../ports/store';
import { decideStaleness, takenAt } from '../tracking/staleness';

export type { InstanceOverview, Overview, PendingRequest, RestoreInFlight, RunningBackup, ThreadRef } from '../../domain/overview';

export interface OverviewInput {
  instances: readonly string[];
  watched: ReadonlySet<string>;
  latest: ReadonlyMap<string, { view: InstanceView; at: number }>;
  health: StoredHealth | undefined;
  generation: DetectedGeneration;
  staleAfterHours: number;
  staleness: readonly StalenessRow[];
  activeTasks: readonly TrackedTask[];
  /** Requests pending, approved or running. */
  requests: readonly RestoreRequest[];
  now: number;
  /** A read older than this is shown as late (the leader has not read since: gone, or the manager fails). */
  lateAfterMs: number;
  link: (channel: string, ts: string) => string | undefined;
}

const timeOf = (b: Backup): number | null => takenAt(b);

/** How many watch intervals without a read make a view late: one missed read is not news yet. */
export const LATE_AFTER_INTERVALS = 3;
/** ...and never less than this, so a short WATCH_INTERVAL_MS and a busy manager do not flap it. */
export const LATE_AFTER_MIN_MS = 60_000;

export function lateAfterMs(watchIntervalMs: number): number {
  return Math.max(LATE_AFTER_INTERVALS * watchIntervalMs, LATE_AFTER_MIN_MS);
}

/**
 * What the App Home and `/pgbackup status` show, from what is already known: the leader's
 * latest reads as the store keeps them, and the rest of the store. Pure, so the same state always renders the same view (and an
 * unchanged view is not published again).
 */
export function buildOverview(input: OverviewInput): Overview {
  const late = (at: number | undefined): boolean => at !== undefined && input.now - at > input.lateAfterMs;
  const ref = (channel: string, ts: string | null): ThreadRef | undefined => (ts ? { channel, ts, link: input.link(channel, ts) } : undefined);
  const instances = input.instances.map((instance): InstanceOverview => {
    const read = input.latest.get(instance);
    const backups = read?.view.backups ?? [];
    const good = read ? decideStaleness({ backups, now: input.now, staleAfterMs: Infinity, firstSeenAt: input.now, staleSince: null }) : undefined;
    const failed = backups
      .filter((b) => b.status === 'failed')
      .sort((a, b) => (timeOf(b) ?? 0) - (timeOf(a) ?? 0) || b.id - a.id)[0];
    const tasks = input.activeTasks.filter((t) => t.instance === instance);
    const running = backups
      .filter((b) => b.status === 'queued' || b.status === 'running')
      .map((b) => {
        const task = tasks.find((t) => t.backupId === b.id);
        return { id: b.id, name: b.backupName, status: b.status, startedAt: timeOf(b), thread: task ? ref(task.channel, task.parentTs) : undefined };
      });
    // Tracked tasks the last read did not show yet (just started).
    for (const t of tasks) {
      if (!running.some((r) => r.id === t.backupId) && (t.status === 'queued' || t.status === 'running')) {
        running.push({ id: t.backupId, name: t.backupName, status: t.status, startedAt: t.createdAt, thread: ref(t.channel, t.parentTs) });
      }
    }
    const requests = input.requests.filter((r) => r.instance === instance);
    const restores: RestoreInFlight[] = requests
      .filter((r) => r.state === 'approved' || r.state === 'running')
      .map((r) => ({ requestId: r.id, backupId: r.backupId, state: r.state, thread: ref(r.channel, r.cardTs) }));
    for (const r of read?.view.restores ?? []) {
      const known = requests.some((q) => q.managerRestoreId === r.id);
      if (!known && (r.status === 'queued' || r.status === 'running')) restores.push({ requestId: null, backupId: r.backupId, state: r.status, thread: undefined });
    }
    const pending = requests
      .filter((r) => r.state === 'pending')
      .map((r) => ({
        requestId: r.id,
        backupId: r.backupId,
        requester: r.requester,
        approvalsMissing: Math.max(0, r.approvalsNeeded - r.approvals.length),
        expiresAt: r.expiresAt,
        thread: ref(r.channel, r.cardTs),
      }));
    const watched = input.watched.has(instance);
    const row = input.staleness.find((s) => s.instance === instance);
    return {
      instance,
      watched,
      readAt: read?.at,
      readLate: late(read?.at),
      lastGood: good?.lastGood && good.lastSuccessAt !== null ? { id: good.lastGood.id, name: good.lastGood.backupName, size: good.lastGood.size, at: good.lastSuccessAt } : undefined,
      lastFailure: failed ? { id: failed.id, name: failed.backupName, at: timeOf(failed), msg: failed.task?.msg ?? null } : undefined,
      stale: watched ? (row ? row.staleSince !== null : undefined) : undefined,
      running,
      restores,
      pending,
    };
  });
  const health = input.health;
  const reads = instances.flatMap((i) => (i.readAt === undefined ? [] : [i.readAt]));
  const readAt = reads.length > 0 ? Math.max(...reads) : undefined;
  return {
    manager: { up: health?.up, since: health && !health.up ? health.since : undefined, generation: input.generation, readAt, readLate: late(readAt) },
    staleAfterHours: input.staleAfterHours,
    instances,
  };
}
