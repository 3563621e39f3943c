import { z } from 'zod';
import { normaliseStatus, type Backup, type BackupAgentTask, type InstanceView, type Restore } from './schemas';

/**
 * zod schemas of the newer REST generation's answers (field names of the public Go client
 * anynines/klutchio, clients/a9s-backup-manager/types.go), mapped to the domain types of the
 * legacy view so the use cases see one shape. Lenient like schemas.ts: unknown fields ignored,
 * nulls tolerated, unknown status words kept as 'unknown'. Assumed, not documented: `status`
 * uses the legacy task words, and the numeric `id`s are the same records the legacy routes show.
 */

const nullableString = z.string().nullish().transform((v) => (v === undefined || v === null || v === '' ? null : v));
const nullableNumber = z.number().nullish().transform((v) => v ?? null);

function task(id: number, rawStatus: unknown, triggeredAt: string | null, finishedAt: string | null): BackupAgentTask {
  return {
    // The REST generation shows no task record: only the owner's id is known.
    id: null,
    taskId: id,
    status: normaliseStatus(rawStatus),
    rawStatus: typeof rawStatus === 'string' ? rawStatus : String(rawStatus ?? ''),
    msg: null,
    createdAt: triggeredAt,
    updatedAt: finishedAt ?? triggeredAt,
  };
}

export const RestBackupSchema = z
  .object({
    id: z.number(),
    size: nullableNumber,
    status: z.unknown(),
    triggered_at: nullableString,
    finished_at: nullableString,
    downloadable: z.boolean().nullish(),
  })
  .transform(
    (b): Backup => ({
      id: b.id,
      // Not served by this generation: a restore by name (a9s-pg-…) can not be matched.
      backupName: null,
      instanceId: null,
      size: b.size,
      downloadable: b.downloadable ?? false,
      task: task(b.id, b.status, b.triggered_at, b.finished_at),
      status: normaliseStatus(b.status),
    }),
  );

export const RestBackupListSchema = z.array(RestBackupSchema);

export const RestRestoreSchema = z
  .object({
    id: z.number(),
    backup_id: z.union([z.number(), z.string()]).nullish(),
    status: z.unknown(),
    triggered_at: nullableString,
    finished_at: nullableString,
  })
  .transform((r): Restore => {
    const t = task(r.id, r.status, r.triggered_at, r.finished_at);
    return { id: r.id, instanceId: null, backupId: r.backup_id ?? null, tasks: [t], status: t.status, msg: null };
  });

export const RestRestoreListSchema = z.array(RestRestoreSchema);

/** 201 (or 200) `{id, message}`; `id` is the new backup's, as in the legacy answer. */
export { TriggerResponseSchema as RestTriggerResponseSchema } from './schemas';

/** 202 `{id}` of the new restore; any other JSON (or none) is accepted, the restore has started. */
export const RestRestoreResponseSchema = z
  .object({ id: z.number().nullish(), message: z.string().nullish() })
  .passthrough()
  .nullish()
  .transform((r) => ({ id: r?.id ?? null, message: r?.message ?? null }));

export const InstanceConfigSchema = z
  .object({
    retention_time: nullableNumber,
    min_backup_count: nullableNumber,
    exclude_from_auto_backup: z.boolean().nullish(),
    backup_type: nullableString,
  })
  .transform((c) => ({
    /** Days after which backups may be deleted (klutchio: "measured in days"). */
    retentionDays: c.retention_time,
    minBackupCount: c.min_backup_count,
    /** null when the manager did not say. */
    excludedFromScheduledBackups: c.exclude_from_auto_backup ?? null,
    backupType: c.backup_type,
  }));
export type InstanceConfig = z.output<typeof InstanceConfigSchema>;

/** The error body of a 404; its `error` word tells an unknown instance from an unknown route. */
export const NotFoundBodySchema = z.object({ error: z.string().optional(), description: z.string().optional() }).passthrough();

/**
 * The legacy instance view assembled from the REST answers. The REST generation reports no
 * numeric instance id: `id` is 0, which the legacy restore refuses (requireId), so a request
 * prepared over REST can never be sent over the legacy routes with a made-up id.
 */
export function restInstanceView(instanceGuid: string, backups: Backup[], restores: Restore[]): InstanceView {
  return { id: 0, instanceGuid, guid: null, backups, restores };
}
