import { RestoreSchema } from '../ports/backup-manager/schemas';
import { type Restore } from './backups';
import { findOwnRestore, restoreCreatedAt, RESTORE_CLOCK_SKEW_MS } from './own-restore';

const APPROVED = Date.parse('2026-03-01T12:00:00Z');
const MONTH = 30 * 86_400_000;

function restore(id: number, backupId: number | string, createdAt: number | null, status = 'done'): Restore {
  return RestoreSchema.parse({
    id,
    instance_id: 38,
    backup_id: backupId,
    backup_agent_tasks: [{ id: id + 100, task_id: id, status, msg: null, created_at: createdAt === null ? null : new Date(createdAt).toISOString(), updated_at: null }],
  });
}

describe('findOwnRestore', () => {
  const query = { backupId: 148, managerRestoreId: null, approvedAt: APPROVED };

  it("never takes last month's restore of the same backup for this one", () => {
    expect(findOwnRestore([restore(12, 148, APPROVED - MONTH)], query)).toBeUndefined();
  });

  it('takes a restore of the backup created after the approval', () => {
    const found = findOwnRestore([restore(12, 148, APPROVED - MONTH), restore(13, 148, APPROVED + 2000, 'queued')], query);
    expect(found?.id).toBe(13);
  });

  it('tolerates the documented clock skew, and no more', () => {
    expect(findOwnRestore([restore(13, 148, APPROVED - RESTORE_CLOCK_SKEW_MS)], query)?.id).toBe(13);
    expect(findOwnRestore([restore(13, 148, APPROVED - RESTORE_CLOCK_SKEW_MS - 1)], query)).toBeUndefined();
  });

  it('ignores other backups, restores listed before the POST, and restores without a time', () => {
    const restores = [restore(13, 149, APPROVED + 1000), restore(14, 148, APPROVED + 1000), restore(15, 148, null)];
    expect(findOwnRestore(restores, { ...query, knownBefore: new Set([14]) })).toBeUndefined();
  });

  it('of several after the approval, takes the earliest (the bot sends one POST)', () => {
    const restores = [restore(16, '148', APPROVED + 9000), restore(15, 148, APPROVED + 1000)];
    expect(findOwnRestore(restores, query)?.id).toBe(15);
  });

  it('with the POST answer, takes exactly that id whatever its time', () => {
    const restores = [restore(12, 148, APPROVED - MONTH), restore(13, 148, APPROVED + 1000)];
    expect(findOwnRestore(restores, { ...query, managerRestoreId: 12 })?.id).toBe(12);
    expect(findOwnRestore(restores, { ...query, managerRestoreId: 99 })).toBeUndefined();
  });

  it('dates a restore by its oldest task', () => {
    const r = RestoreSchema.parse({
      id: 1,
      backup_id: 148,
      backup_agent_tasks: [
        { id: 2, task_id: 1, status: 'done', created_at: '2026-03-01T12:05:00Z' },
        { id: 1, task_id: 1, status: 'failed', created_at: '2026-03-01T12:01:00Z' },
      ],
    });
    expect(restoreCreatedAt(r)).toBe(Date.parse('2026-03-01T12:01:00Z'));
  });
});
