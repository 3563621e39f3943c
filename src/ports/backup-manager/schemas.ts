import { z } from 'zod';
import {
  backupsNewestFirst,
  isFinal,
  KNOWN_STATUSES,
  normaliseStatus,
  type Backup,
  type BackupAgentTask,
  type InstanceView,
  type KnownStatus,
  type Restore,
  type TaskStatus,
} from '../../domain/backups';

// The shapes live in the domain; these schemas map the manager's JSON onto them at the edge.
export { backupsNewestFirst, isFinal, KNOWN_STATUSES, normaliseStatus, type Backup, type BackupAgentTask, type InstanceView, type KnownStatus, type Restore, type TaskStatus };

/**
 * zod schemas of the Backup Manager's answers (spec/backup-manager-api.md). They accept the
 * seed's JSON exactly, ignore unknown fields, tolerate nulls, and map any status the bot does
 * not know to 'unknown' (keeping the raw word to show) instead of failing.
 */

const nullableString = z.string().nullish().transform((v) => v ?? null);
const nullableNumber = z.number().nullish().transform((v) => v ?? null);

export const BackupAgentTaskSchema = z
  .object({
    id: z.number().nullish(),
    task_id: z.number().nullish(),
    status: z.unknown(),
    msg: z.unknown().optional(),
    created_at: nullableString,
    updated_at: nullableString,
  })
  .transform((t): BackupAgentTask => ({
    id: t.id ?? null,
    taskId: t.task_id ?? null,
    status: normaliseStatus(t.status),
    rawStatus: typeof t.status === 'string' ? t.status : String(t.status ?? ''),
    msg: t.msg === null || t.msg === undefined ? null : typeof t.msg === 'string' ? t.msg : JSON.stringify(t.msg),
    createdAt: t.created_at,
    updatedAt: t.updated_at,
  }));

export const BackupSchema = z
  .object({
    id: z.number(),
    backup_id: nullableString,
    instance_id: nullableNumber,
    size: nullableNumber,
    is_downloadable: z.boolean().nullish(),
    backup_agent_task: BackupAgentTaskSchema.nullish(),
  })
  .transform((b): Backup => ({
    id: b.id,
    /** The string name, e.g. a9s-pg-1542859215559 (the numeric id is `id`). */
    backupName: b.backup_id,
    instanceId: b.instance_id,
    size: b.size,
    downloadable: b.is_downloadable ?? false,
    task: b.backup_agent_task ?? null,
    status: b.backup_agent_task?.status ?? ('unknown' as TaskStatus),
  }));

export const RestoreSchema = z
  .object({
    id: z.number(),
    instance_id: nullableNumber,
    backup_id: z.union([z.number(), z.string()]).nullish(),
    backup_agent_tasks: z.array(BackupAgentTaskSchema).nullish(),
    // Some versions may use the singular form, like a backup; accept it too.
    backup_agent_task: BackupAgentTaskSchema.nullish(),
  })
  .transform((r): Restore => {
    const tasks = [...(r.backup_agent_tasks ?? []), ...(r.backup_agent_task ? [r.backup_agent_task] : [])];
    const newest = newestTask(tasks);
    return {
      id: r.id,
      instanceId: r.instance_id,
      backupId: r.backup_id ?? null,
      tasks,
      status: newest?.status ?? ('unknown' as TaskStatus),
      msg: newest?.msg ?? null,
    };
  });

function newestTask(tasks: BackupAgentTask[]): BackupAgentTask | undefined {
  let best: BackupAgentTask | undefined;
  for (const t of tasks) {
    if (!best) best = t;
    else {
      const a = t.createdAt ?? '';
      const b = best.createdAt ?? '';
      if (a > b || (a === b && (t.id ?? 0) > (best.id ?? 0))) best = t;
    }
  }
  return best;
}

export const InstanceViewSchema = z
  .object({
    id: z.number(),
    instance_id: z.string(),
    guid: nullableString,
    backups: z.array(BackupSchema).nullish(),
    restores: z.array(RestoreSchema).nullish(),
  })
  .transform((v): InstanceView => ({
    /** Numeric id, needed for restores. */
    id: v.id,
    /** The name the user types, e.g. a9s-pg. */
    instanceGuid: v.instance_id,
    guid: v.guid,
    backups: v.backups ?? [],
    restores: v.restores ?? [],
  }));

export const TriggerResponseSchema = z
  .object({ id: z.number(), message: z.string().nullish() })
  .transform((r) => ({ id: r.id, message: r.message ?? null }));
export type TriggerResponse = z.output<typeof TriggerResponseSchema>;

/** The restore POST answer is not documented: any JSON object (or none) is accepted. */
export const RestoreResponseSchema = z
  .object({ id: z.number().nullish(), message: z.string().nullish() })
  .passthrough()
  .nullish()
  .transform((r) => ({ id: r?.id ?? null, message: r?.message ?? null }));
export type RestoreResponse = z.output<typeof RestoreResponseSchema>;

export const ErrorBodySchema = z.object({ error: z.string().optional(), description: z.string().optional() });


/**
 * An instance view back in the manager's words: what InstanceViewSchema reads as the same
 * view. A view kept in the store is written so, and read back through the one schema of the
 * edge (a row written by another version is checked like an answer of the manager).
 */
export function instanceViewToWire(v: InstanceView): z.input<typeof InstanceViewSchema> {
  const task = (t: BackupAgentTask) => ({ id: t.id, task_id: t.taskId, status: t.rawStatus, msg: t.msg, created_at: t.createdAt, updated_at: t.updatedAt });
  return {
    id: v.id,
    instance_id: v.instanceGuid,
    guid: v.guid,
    backups: v.backups.map((b) => ({
      id: b.id,
      backup_id: b.backupName,
      instance_id: b.instanceId,
      size: b.size,
      is_downloadable: b.downloadable,
      backup_agent_task: b.task ? task(b.task) : null,
    })),
    restores: v.restores.map((r) => ({ id: r.id, instance_id: r.instanceId, backup_id: r.backupId, backup_agent_tasks: r.tasks.map(task) })),
  };
}
