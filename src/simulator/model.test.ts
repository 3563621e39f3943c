import { SimulatorModel, type ModelEvent } from './model';

describe('SimulatorModel', () => {
  const at = (iso: string): Date => new Date(iso);

  it('numbers instances, backups and tasks from the seed and keeps them apart', () => {
    const model = new SimulatorModel({ now: () => at('2018-11-22T04:00:15.718Z') });
    const pg = model.findInstance('a9s-pg');
    expect(pg?.id).toBe(38);
    const first = model.triggerBackup('a9s-pg');
    const second = model.triggerBackup('a9s-pg');
    expect(first.id).toBe(148);
    expect(first.task.taskId).toBe(148);
    expect(first.task.id).not.toBe(first.id);
    expect(second.id).toBe(149);
    expect(second.task.id).toBeGreaterThan(first.task.id);
    // A frozen clock must not give two backups the same name.
    expect(second.backupId).not.toBe(first.backupId);
  });

  it('moves each task at most one step per step()', () => {
    const model = new SimulatorModel();
    const backup = model.triggerBackup('a9s-pg');
    model.step();
    expect(backup.task.status).toBe('running');
    model.step();
    expect(backup.task.status).toBe('done');
  });

  it('throws on an unknown instance', () => {
    const model = new SimulatorModel();
    expect(() => model.triggerBackup('nope')).toThrow(/no instance "nope"/);
    expect(() => model.deleteBackup('a9s-pg', 1)).toThrow(RangeError);
  });

  it('forgets, on success, what was recorded after the restored backup on every instance', () => {
    const events: ModelEvent[] = [];
    const model = new SimulatorModel({ restoreSteps: 1, onEvent: (e) => events.push(e) });
    model.addInstance('svc-1');
    const restored = model.seedBackup('a9s-pg', { status: 'done', createdAt: '2018-11-20T00:00:00Z' });
    const older = model.seedBackup('a9s-pg', { status: 'done', createdAt: '2018-11-19T00:00:00Z' });
    const newer = model.seedBackup('a9s-pg', { status: 'done', createdAt: '2018-11-21T00:00:00Z' });
    const svcOld = model.seedBackup('svc-1', { status: 'done', createdAt: '2018-11-19T00:00:00Z' });
    const svcNew = model.seedBackup('svc-1', { status: 'done', createdAt: '2018-11-21T00:00:00Z' });
    const result = model.requestRestore(38, restored.id);
    expect(result).toMatchObject({ ok: true, outage: true });
    expect(model.outage).not.toBeNull();
    model.step();
    expect(model.outage).toBeNull();
    expect(model.findInstance('a9s-pg')?.backups.map((b) => b.id)).toEqual([restored.id, older.id]);
    expect(model.findInstance('svc-1')?.backups.map((b) => b.id)).toEqual([svcOld.id]);
    expect(model.findInstance('a9s-pg')?.restores).toEqual([]);
    const end = events.find((e) => e.type === 'outage-end');
    expect(end).toMatchObject({
      outcome: 'success',
      forgotten: [
        { instance: 'a9s-pg', id: newer.id, backupId: newer.backupId },
        { instance: 'svc-1', id: svcNew.id, backupId: svcNew.backupId },
      ],
    });
  });

  it('refuses a9s-pg restores of backups that are not done', () => {
    const model = new SimulatorModel();
    const running = model.seedBackup('a9s-pg', { status: 'running' });
    expect(model.requestRestore(38, running.id)).toMatchObject({ ok: false, status: 422, error: 'BackupNonRestorableState' });
    expect(model.outage).toBeNull();
  });
});
