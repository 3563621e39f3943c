import type { Backup, InstanceView, TaskStatus } from '../../domain/backups';
import { newBackupOf } from './trigger';

const backup = (id: number, status: TaskStatus): Backup => ({ id, backupName: null, instanceId: 1, size: null, downloadable: false, task: null, status });
const view = (...backups: Backup[]): InstanceView => ({ id: 1, instanceGuid: 'a9s-pg', guid: null, backups, restores: [] });

describe('newBackupOf: the backup a POST without an answer made', () => {
  it('is the one backup not listed before, in whatever state it has reached', () => {
    for (const status of ['queued', 'running', 'done', 'failed'] as const) {
      expect(newBackupOf(view(backup(1, 'done'), backup(2, status)), [1])).toBe(2);
    }
  });

  it('is nobody when none, or more than one, appeared: which one is ours can not be told', () => {
    expect(newBackupOf(view(backup(1, 'done')), [1])).toBeUndefined();
    expect(newBackupOf(view(backup(1, 'done'), backup(2, 'running'), backup(3, 'queued')), [1])).toBeUndefined();
  });

  it('ignores new entries that are no started backup (deleted, or a status the bot does not know)', () => {
    expect(newBackupOf(view(backup(2, 'deleted'), backup(3, 'running')), [])).toBe(3);
    expect(newBackupOf(view(backup(2, 'unknown')), [])).toBeUndefined();
  });
});
