/** A restore request as the use cases and renderers see it; the store keeps it. */

export type RestoreState =
  | 'pending'
  | 'approved'
  | 'running'
  | 'succeeded'
  | 'failed'
  | 'rejected'
  | 'withdrawn'
  | 'expired'
  /** Ended without a restore the bot can vouch for: never confirmed by the manager, or its backup gone. */
  | 'not_started'
  /** Sent, but how it ended was never seen (e.g. no end within RESTORE_TIMEOUT_MS). */
  | 'unknown';

/** States after which nothing more happens to a request. */
export const FINAL_RESTORE_STATES: readonly RestoreState[] = ['succeeded', 'failed', 'rejected', 'withdrawn', 'expired', 'not_started', 'unknown'];

/** How a restore that was approved can end. */
export type RestoreEnd = 'succeeded' | 'failed' | 'not_started' | 'unknown';

export interface NewerBackup {
  id: number;
  backupName: string | null;
  createdAt: string | null;
  /** The manager's status when the request was made; absent in requests stored before it was kept. */
  status?: string;
}

/**
 * One instance's backups made after the chosen a9s-pg backup, as read when the request was
 * made; `known: false` when that read failed (the card says so instead of guessing).
 */
export type LaterBackupsOf = { instance: string; known: true; later: NewerBackup[] } | { instance: string; known: false; error: string };

export interface RestoreRequest {
  id: number;
  instance: string;
  instanceNumericId: number;
  backupId: number;
  backupName: string | null;
  backupSize: number | null;
  backupCreatedAt: string | null;
  /** For a9s-pg: its own backups made after this one, which the manager will forget. */
  newerBackups: NewerBackup[];
  /**
   * For a9s-pg: per instance the bot knows (a9s-pg first), the backups made after this one.
   * The manager's database holds every instance's records, so it forgets all of them.
   */
  laterBackups: LaterBackupsOf[];
  requester: string;
  reason: string;
  channel: string;
  cardTs: string | null;
  followupTs: string | null;
  state: RestoreState;
  approvalsNeeded: number;
  approvals: Array<{ userId: string; at: number }>;
  /** Rejections that end the request (RESTORE_REJECTIONS when it was made). */
  rejectionsNeeded: number;
  rejections: Array<{ userId: string; at: number }>;
  createdAt: number;
  expiresAt: number;
  decidedBy: string | null;
  decidedAt: number | null;
  startedAt: number | null;
  managerRestoreId: number | null;
  /** The manager accepted the restore POST (2xx), whether or not its answer carried an id. */
  postConfirmed: boolean;
  /** When a leader claimed the one restore POST (written before it is sent); null: never tried. */
  postClaimedAt: number | null;
  finishedAt: number | null;
  outcome: string | null;
}
