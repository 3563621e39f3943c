import { InstanceConfigSchema, RestBackupListSchema, RestRestoreListSchema } from './rest-schemas';

/** The REST answers, parsed leniently into the legacy view's domain types. */

describe('REST schemas', () => {
  it('maps a backup to the domain Backup, its times to the task the legacy view would have', () => {
    const [b] = RestBackupListSchema.parse([
      { id: 148, size: 44985152, status: 'done', triggered_at: '2018-11-22T04:00:15.718Z', finished_at: '2018-11-22T04:01:28.853Z', downloadable: true, extra: 1 },
    ]);
    expect(b).toEqual({
      id: 148,
      backupName: null,
      instanceId: null,
      size: 44985152,
      downloadable: true,
      status: 'done',
      task: { id: null, taskId: 148, status: 'done', rawStatus: 'done', msg: null, createdAt: '2018-11-22T04:00:15.718Z', updatedAt: '2018-11-22T04:01:28.853Z' },
    });
  });

  it('keeps an unknown status word as unknown, and tolerates nulls, empty strings and missing fields', () => {
    const [b] = RestBackupListSchema.parse([{ id: 1, status: 'Paused', triggered_at: '2026-01-01T00:00:00Z', finished_at: '', size: null }]);
    expect(b).toMatchObject({ status: 'unknown', size: null, downloadable: false, task: { rawStatus: 'Paused', updatedAt: '2026-01-01T00:00:00Z' } });
  });

  it('maps a restore to the domain Restore with one task', () => {
    expect(RestRestoreListSchema.parse([{ id: 12, backup_id: 148, status: 'running', triggered_at: 'a', finished_at: null }])).toEqual([
      { id: 12, instanceId: null, backupId: 148, status: 'running', msg: null, tasks: [expect.objectContaining({ taskId: 12, status: 'running', createdAt: 'a' })] },
    ]);
  });

  it('rejects what is not a list of records (the wrong generation answering, say)', () => {
    expect(RestBackupListSchema.safeParse({ id: 38, instance_id: 'a9s-pg', backups: [] }).success).toBe(false);
  });

  it('reads the instance config; a field the manager leaves out is null, not false', () => {
    expect(InstanceConfigSchema.parse({ retention_time: 14, min_backup_count: 3, exclude_from_auto_backup: true, backup_type: 'postgresql_wal' })).toEqual({
      retentionDays: 14,
      minBackupCount: 3,
      excludedFromScheduledBackups: true,
      backupType: 'postgresql_wal',
    });
    expect(InstanceConfigSchema.parse({})).toEqual({ retentionDays: null, minBackupCount: null, excludedFromScheduledBackups: null, backupType: null });
  });
});
