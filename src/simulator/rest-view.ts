import type { SimBackup, SimInstance, SimInstanceConfig, SimRestore, SimTask } from './model';
import { arrangeBackups, type ViewOptions } from './view';

/**
 * The JSON of the newer REST generation (field names of the public Go client anynines/klutchio,
 * clients/a9s-backup-manager/types.go), rendered from the same model as the legacy view.
 * Assumptions, not documented anywhere: `status` uses the task words of the legacy view, and
 * `finished_at` is null until the task is final.
 */

export interface RestBackupJson {
  id: number;
  size: number | null;
  status: string;
  triggered_at: string;
  finished_at: string | null;
  downloadable: boolean;
}

export interface RestRestoreJson {
  id: number;
  backup_id: number;
  status: string;
  triggered_at: string;
  finished_at: string | null;
}

export interface RestConfigJson {
  retention_time: number;
  min_backup_count: number;
  min_encryption_key_length: number;
  exclude_from_auto_backup: boolean;
  backup_type: string | null;
}

type StatusOf = (ownerId: number, task: SimTask) => string;

function statusFunction(options: ViewOptions): StatusOf {
  const override = options.statusOverride;
  return (ownerId, task) => (override && (override.id === undefined || override.id === ownerId) ? override.status : task.status);
}

function finishedAt(task: SimTask): string | null {
  return task.status === 'done' || task.status === 'failed' || task.status === 'deleted' ? task.updatedAt.toISOString() : null;
}

export function renderRestBackup(backup: SimBackup, options: ViewOptions = {}): RestBackupJson {
  return {
    id: backup.id,
    size: backup.size,
    status: statusFunction(options)(backup.id, backup.task),
    triggered_at: backup.task.createdAt.toISOString(),
    finished_at: finishedAt(backup.task),
    downloadable: backup.isDownloadable,
  };
}

export function renderRestBackups(instance: SimInstance, options: ViewOptions = {}): RestBackupJson[] {
  return arrangeBackups(
    instance.backups.map((b) => renderRestBackup(b, options)),
    options.order ?? 'oldest-first',
    options.random ?? Math.random,
  );
}

/** A restore's state is its newest task's, as in the legacy view. */
export function renderRestRestore(restore: SimRestore, options: ViewOptions = {}): RestRestoreJson {
  const first = restore.tasks[0];
  const last = restore.tasks[restore.tasks.length - 1];
  if (!first || !last) throw new RangeError(`restore ${restore.id} has no task`);
  return {
    id: restore.id,
    backup_id: restore.backupId,
    status: statusFunction(options)(restore.id, last),
    triggered_at: first.createdAt.toISOString(),
    finished_at: finishedAt(last),
  };
}

export function renderRestRestores(instance: SimInstance, options: ViewOptions = {}): RestRestoreJson[] {
  return instance.restores.map((r) => renderRestRestore(r, options));
}

export function renderRestConfig(config: SimInstanceConfig): RestConfigJson {
  return {
    retention_time: config.retentionTimeDays,
    min_backup_count: config.minBackupCount,
    min_encryption_key_length: config.minEncryptionKeyLength,
    exclude_from_auto_backup: config.excludeFromAutoBackup,
    backup_type: config.backupType,
  };
}
