import type { SimBackup, SimInstance, SimRestore, SimTask } from './model';

/**
 * The JSON the manager answers, field for field and in the seed's key order. `status` is a
 * plain string here because a fault may make tasks report a word the manager never documented.
 */

export interface TaskJson {
  msg: string | null;
  updated_at: string;
  created_at: string;
  status: string;
  task_id: number;
  id: number;
}

export interface BackupJson {
  backup_agent_task: TaskJson;
  is_downloadable: boolean;
  size: number | null;
  backup_id: string;
  instance_id: number;
  id: number;
}

export interface RestoreJson {
  id: number;
  instance_id: number;
  backup_id: number;
  backup_agent_tasks: TaskJson[];
}

export interface InstanceJson {
  backups: BackupJson[];
  restores: RestoreJson[];
  guid: string;
  instance_id: string;
  id: number;
}

export type BackupOrder = 'oldest-first' | 'newest-first' | 'shuffled';

export interface ViewOptions {
  /** The manager does not promise an order; tests can make the bot cope with any. */
  order?: BackupOrder;
  random?: () => number;
  /** Report this status instead of the real one (all tasks, or only those of backup/restore `id`). */
  statusOverride?: { status: string; id?: number };
}

export function renderInstance(instance: SimInstance, options: ViewOptions = {}): InstanceJson {
  const override = options.statusOverride;
  const statusOf = (ownerId: number, task: SimTask): string =>
    override && (override.id === undefined || override.id === ownerId) ? override.status : task.status;
  const backups = instance.backups.map((b) => renderBackup(b, statusOf(b.id, b.task)));
  const restores = instance.restores.map((r) => renderRestore(r, (t) => statusOf(r.id, t)));
  return {
    backups: arrangeBackups(backups, options.order ?? 'oldest-first', options.random ?? Math.random),
    restores,
    guid: instance.guid,
    instance_id: instance.name,
    id: instance.id,
  };
}

function renderTask(task: SimTask, status: string): TaskJson {
  return {
    msg: task.msg,
    updated_at: task.updatedAt.toISOString(),
    created_at: task.createdAt.toISOString(),
    status,
    task_id: task.taskId,
    id: task.id,
  };
}

function renderBackup(backup: SimBackup, status: string): BackupJson {
  return {
    backup_agent_task: renderTask(backup.task, status),
    is_downloadable: backup.isDownloadable,
    size: backup.size,
    backup_id: backup.backupId,
    instance_id: backup.instanceId,
    id: backup.id,
  };
}

function renderRestore(restore: SimRestore, statusOf: (task: SimTask) => string): RestoreJson {
  return {
    id: restore.id,
    instance_id: restore.instanceId,
    backup_id: restore.backupId,
    backup_agent_tasks: restore.tasks.map((t) => renderTask(t, statusOf(t))),
  };
}

/** Shared by both route generations, so the same order option applies to either. */
export function arrangeBackups<T>(backups: T[], order: BackupOrder, random: () => number): T[] {
  if (order === 'oldest-first') return backups;
  if (order === 'newest-first') return [...backups].reverse();
  const out = [...backups];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const a = out[i];
    const b = out[j];
    if (a !== undefined && b !== undefined) {
      out[i] = b;
      out[j] = a;
    }
  }
  return out;
}
