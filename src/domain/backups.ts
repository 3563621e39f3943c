/** The Backup Manager's view of an instance, its backups and restores, as the bot works with it. */

export const KNOWN_STATUSES = ['queued', 'running', 'done', 'failed', 'deleted'] as const;
export type KnownStatus = (typeof KNOWN_STATUSES)[number];
export type TaskStatus = KnownStatus | 'unknown';

export function normaliseStatus(raw: unknown): TaskStatus {
  if (typeof raw !== 'string') return 'unknown';
  const s = raw.trim().toLowerCase();
  return (KNOWN_STATUSES as readonly string[]).includes(s) ? (s as KnownStatus) : 'unknown';
}

/** Statuses after which a task will not change any more. */
export function isFinal(status: TaskStatus): boolean {
  return status === 'done' || status === 'failed' || status === 'deleted';
}

export interface BackupAgentTask {
  id: number | null;
  taskId: number | null;
  status: TaskStatus;
  /** The manager's own word, shown when the bot does not know it. */
  rawStatus: string;
  msg: string | null;
  createdAt: string | null;
  updatedAt: string | null;
}

export interface Backup {
  id: number;
  /** The string name, e.g. a9s-pg-1542859215559 (the numeric id is `id`). */
  backupName: string | null;
  instanceId: number | null;
  size: number | null;
  downloadable: boolean;
  task: BackupAgentTask | null;
  status: TaskStatus;
}

export interface Restore {
  id: number;
  instanceId: number | null;
  backupId: number | string | null;
  tasks: BackupAgentTask[];
  status: TaskStatus;
  msg: string | null;
}

export interface InstanceView {
  /** Numeric id, needed for restores. */
  id: number;
  /** The name the user types, e.g. a9s-pg. */
  instanceGuid: string;
  guid: string | null;
  backups: Backup[];
  restores: Restore[];
}

/** Newest first: by creation time of the task, then by id. Order from the manager is not guaranteed. */
export function backupsNewestFirst(backups: readonly Backup[]): Backup[] {
  return [...backups].sort((a, b) => {
    const ta = a.task?.createdAt ?? '';
    const tb = b.task?.createdAt ?? '';
    if (ta !== tb) return ta < tb ? 1 : -1;
    return b.id - a.id;
  });
}
