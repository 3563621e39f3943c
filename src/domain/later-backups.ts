import type { Backup, InstanceView } from './backups';
import type { LaterBackupsOf, NewerBackup, RestoreRequest } from './restore-request';

/**
 * Which backups a restore of a9s-pg makes the Backup Manager forget. Its database holds the
 * records of every instance, so restoring it to the time of a backup drops every record made
 * after that backup, on all instances. Pure functions: the reads happen elsewhere.
 */

/** The per-instance lists of a request; requests stored before they were kept have only their own instance's. */
export function laterBackupsOf(r: Pick<RestoreRequest, 'instance' | 'newerBackups' | 'laterBackups'>): LaterBackupsOf[] {
  return r.laterBackups.length > 0 ? r.laterBackups : [{ instance: r.instance, known: true, later: r.newerBackups }];
}

/** Where a backup stands in the manager's history: its creation time, then its id. */
export interface HistoryPoint {
  id: number;
  createdAt: string | null;
}

function timeOf(iso: string | null): number | null {
  if (iso === null) return null;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? null : t;
}

/**
 * True when `b` was made after `chosen`: by creation time (compared as instants, not as
 * strings: "…15.718Z" and "…15Z" are both valid), ties broken by id. Without a usable time on
 * either side only the id is left; ids come from one sequence in the manager's database.
 */
export function isAfter(b: HistoryPoint, chosen: HistoryPoint): boolean {
  const tb = timeOf(b.createdAt);
  const tc = timeOf(chosen.createdAt);
  if (tb !== null && tc !== null && tb !== tc) return tb > tc;
  return b.id > chosen.id;
}

/** Oldest first, in the order `isAfter` uses. */
function byHistory(a: NewerBackup, b: NewerBackup): number {
  const ta = timeOf(a.createdAt);
  const tb = timeOf(b.createdAt);
  if (ta !== null && tb !== null && ta !== tb) return ta - tb;
  return a.id - b.id;
}

/**
 * The backups of one instance made after `chosen`, oldest first, each with its status. Every
 * record the manager holds counts — queued, running and failed ones are forgotten as well as
 * done ones — except `deleted` ones, whose data is already gone.
 */
export function backupsAfter(backups: readonly Backup[], chosen: HistoryPoint): NewerBackup[] {
  return backups
    .filter((b) => b.id !== chosen.id && b.status !== 'deleted' && isAfter({ id: b.id, createdAt: b.task?.createdAt ?? null }, chosen))
    .map((b) => ({ id: b.id, backupName: b.backupName, createdAt: b.task?.createdAt ?? null, status: b.status === 'unknown' ? (b.task?.rawStatus || 'unknown') : b.status }))
    .sort(byHistory);
}

/** What the summary of an a9s-pg restore says about one instance. */
export type ForgottenOf =
  | {
      instance: string;
      /** False when the instance could not be read before the restore: nothing to compare. */
      comparable: true;
      /** Listed before the restore as made after the chosen backup, and no longer listed now. */
      forgotten: NewerBackup[];
      /** Listed before as made after the chosen backup, and still listed now. */
      stillListed: NewerBackup[];
    }
  | { instance: string; comparable: false; why: string };

/**
 * Compares, per instance, the backups made after the chosen one as read before the restore
 * with what the manager lists after it. `after` holds each instance's view, or the error of
 * its read.
 */
export function compareAfterRestore(before: readonly LaterBackupsOf[], after: ReadonlyMap<string, InstanceView | Error>): ForgottenOf[] {
  return before.map((b): ForgottenOf => {
    if (!b.known) return { instance: b.instance, comparable: false, why: `it could not be read before the restore (${b.error})` };
    const now = after.get(b.instance);
    if (now === undefined || now instanceof Error) {
      return { instance: b.instance, comparable: false, why: `it could not be read after the restore (${now?.message ?? 'not read'})` };
    }
    const listed = new Set(now.backups.map((x) => x.id));
    return {
      instance: b.instance,
      comparable: true,
      forgotten: b.later.filter((x) => !listed.has(x.id)),
      stillListed: b.later.filter((x) => listed.has(x.id)),
    };
  });
}
