import type { Restore } from './backups';

/**
 * Tolerated difference between the bot's clock and the Backup Manager's when deciding whether
 * a restore the manager lists started after the approval. One minute: NTP keeps real clocks far
 * closer, and a wider margin would let a restore someone started by hand just before the
 * approval pass for this one. The POST always follows the approval, so ours is never older.
 */
export const RESTORE_CLOCK_SKEW_MS = 60_000;

export interface OwnRestoreQuery {
  backupId: number;
  /** The id the manager answered the POST with; null when the answer never came. */
  managerRestoreId: number | null;
  /** When the request was approved (epoch ms): nothing older can be this restore. */
  approvedAt: number;
  /** Restores the manager listed just before the POST: none of them is this one. */
  knownBefore?: ReadonlySet<number>;
  skewMs?: number;
}

/** When the manager created the restore: its oldest task's creation time, if it says. */
export function restoreCreatedAt(r: Restore): number | undefined {
  let first: number | undefined;
  for (const t of r.tasks) {
    const at = t.createdAt === null ? Number.NaN : Date.parse(t.createdAt);
    if (!Number.isNaN(at) && (first === undefined || at < first)) first = at;
  }
  return first;
}

/**
 * The restore that belongs to this request, among those the manager lists. With the POST's id
 * it is that one. Without it (the answer was lost, or the bot died around the POST) only a
 * restore of the same backup that the manager created after the approval may stand for it: an
 * older one (last month's) would report an outcome of a restore that never ran now. Of several,
 * the earliest: the bot sends one POST per request, so a later one is somebody else's.
 */
export function findOwnRestore(restores: readonly Restore[], q: OwnRestoreQuery): Restore | undefined {
  if (q.managerRestoreId !== null) return restores.find((r) => r.id === q.managerRestoreId);
  const notBefore = q.approvedAt - (q.skewMs ?? RESTORE_CLOCK_SKEW_MS);
  const candidates = restores.filter((r) => {
    if (String(r.backupId) !== String(q.backupId)) return false;
    if (q.knownBefore?.has(r.id)) return false;
    const at = restoreCreatedAt(r);
    return at !== undefined && at >= notBefore;
  });
  return candidates.sort((a, b) => (restoreCreatedAt(a) ?? 0) - (restoreCreatedAt(b) ?? 0) || a.id - b.id)[0];
}
