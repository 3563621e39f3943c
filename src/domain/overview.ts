/** What the App Home and `/pgbackup status` show at a glance: per instance, and the manager. */

/** A link to a Slack message, when its permalink is known. */
export interface ThreadRef {
  channel: string;
  ts: string;
  link: string | undefined;
}

export interface RunningBackup {
  id: number;
  name: string | null;
  status: string;
  startedAt: number | null;
  thread: ThreadRef | undefined;
}

export interface RestoreInFlight {
  requestId: number | null;
  backupId: number | string | null;
  state: string;
  thread: ThreadRef | undefined;
}

export interface PendingRequest {
  requestId: number;
  backupId: number;
  requester: string;
  approvalsMissing: number;
  expiresAt: number;
  thread: ThreadRef | undefined;
}

export interface InstanceOverview {
  instance: string;
  watched: boolean;
  /** When the shown state was read; undefined: not read yet (instances outside WATCH_INSTANCES). */
  readAt: number | undefined;
  /** Read, and not read again for longer than the watch cadence explains: what is shown may be out of date. */
  readLate: boolean;
  lastGood: { id: number; name: string | null; size: number | null; at: number } | undefined;
  lastFailure: { id: number; name: string | null; at: number | null; msg: string | null } | undefined;
  /** Watched instances only: whether the staleness alarm is raised. */
  stale: boolean | undefined;
  running: RunningBackup[];
  restores: RestoreInFlight[];
  pending: PendingRequest[];
}

export interface Overview {
  manager: {
    up: boolean | undefined;
    since: number | undefined;
    generation: 'legacy' | 'rest' | 'unknown';
    /** The newest read of any instance shown; late like an instance's. */
    readAt: number | undefined;
    readLate: boolean;
  };
  staleAfterHours: number;
  instances: InstanceOverview[];
}

