import { InstanceViewSchema } from '../ports/backup-manager/schemas';
import { type Backup, type InstanceView } from './backups';
import { backupsAfter, compareAfterRestore, isAfter, laterBackupsOf } from './later-backups';

/** An instance view with backups given as [id, status, created_at]. */
function view(instance: string, backups: Array<[number, string, string | null]>): InstanceView {
  return InstanceViewSchema.parse({
    id: 38,
    instance_id: instance,
    backups: backups.map(([id, status, createdAt]) => ({ id, backup_id: `${instance}-${id}`, backup_agent_task: { status, created_at: createdAt } })),
    restores: [],
  });
}

const at = (v: InstanceView, id: number): Backup => {
  const b = v.backups.find((x) => x.id === id);
  if (!b) throw new Error(`no backup ${id}`);
  return b;
};
const point = (b: Backup) => ({ id: b.id, createdAt: b.task?.createdAt ?? null });

/** The seed's instance view: 148 is done; 149 and 150 were made after it; 151 failed. */
const seed = view('a9s-pg', [
  [150, 'done', '2018-11-23T19:46:40.000Z'],
  [148, 'done', '2018-11-22T04:00:15.718Z'],
  [151, 'failed', '2018-11-24T23:33:20.000Z'],
  [149, 'done', '2018-11-22T15:20:00.000Z'],
]);

describe('backupsAfter', () => {
  it('lists the backups made after the chosen one, oldest first, with their status', () => {
    expect(backupsAfter(seed.backups, point(at(seed, 148)))).toEqual([
      { id: 149, backupName: 'a9s-pg-149', createdAt: '2018-11-22T15:20:00.000Z', status: 'done' },
      { id: 150, backupName: 'a9s-pg-150', createdAt: '2018-11-23T19:46:40.000Z', status: 'done' },
      { id: 151, backupName: 'a9s-pg-151', createdAt: '2018-11-24T23:33:20.000Z', status: 'failed' },
    ]);
    expect(backupsAfter(seed.backups, point(at(seed, 150))).map((b) => b.id)).toEqual([151]);
    expect(backupsAfter(seed.backups, point(at(seed, 151)))).toEqual([]);
  });

  it('goes by creation time, not by id, when both have one', () => {
    const v = view('a9s-pg', [
      [10, 'done', '2018-11-22T00:00:00.000Z'],
      [5, 'done', '2018-11-23T00:00:00.000Z'],
    ]);
    expect(backupsAfter(v.backups, point(at(v, 10))).map((b) => b.id)).toEqual([5]);
    expect(backupsAfter(v.backups, point(at(v, 5)))).toEqual([]);
  });

  it('breaks a tie of creation times by id', () => {
    const v = view('a9s-pg', [
      [20, 'done', '2018-11-22T04:00:15.718Z'],
      [21, 'done', '2018-11-22T04:00:15.718Z'],
      [19, 'done', '2018-11-22T04:00:15.718Z'],
    ]);
    expect(backupsAfter(v.backups, point(at(v, 20))).map((b) => b.id)).toEqual([21]);
    expect(backupsAfter(v.backups, point(at(v, 19))).map((b) => b.id)).toEqual([20, 21]);
  });

  it('compares instants, not strings: the same second written two ways is a tie', () => {
    // As strings "…15.000Z" < "…15Z" and "…15.5Z" < "…15Z": a string comparison gets both wrong.
    const v = view('a9s-pg', [
      [30, 'done', '2018-11-22T04:00:15Z'],
      [29, 'done', '2018-11-22T04:00:15.000Z'],
      [31, 'done', '2018-11-22T04:00:15.000Z'],
      [28, 'done', '2018-11-22T04:00:15.500Z'],
      [27, 'done', '2018-11-22T05:00:15.000+01:00'],
    ]);
    expect(backupsAfter(v.backups, point(at(v, 30))).map((b) => b.id)).toEqual([31, 28]);
    expect(isAfter({ id: 27, createdAt: '2018-11-22T05:00:15.000+01:00' }, { id: 30, createdAt: '2018-11-22T04:00:15Z' })).toBe(false);
  });

  it('counts queued, running, failed and unknown backups, not deleted ones', () => {
    const v = view('pg-orders', [
      [1, 'done', '2018-11-22T00:00:00.000Z'],
      [2, 'deleted', '2018-11-22T01:00:00.000Z'],
      [3, 'failed', '2018-11-22T02:00:00.000Z'],
      [4, 'queued', '2018-11-22T03:00:00.000Z'],
      [5, 'running', '2018-11-22T04:00:00.000Z'],
      [6, 'paused', '2018-11-22T05:00:00.000Z'],
    ]);
    expect(backupsAfter(v.backups, point(at(v, 1))).map((b) => [b.id, b.status])).toEqual([
      [3, 'failed'],
      [4, 'queued'],
      [5, 'running'],
      [6, 'paused'],
    ]);
  });

  it("measures another instance's backups against the chosen a9s-pg backup", () => {
    const orders = view('pg-orders', [
      [140, 'done', '2018-11-21T00:00:00.000Z'],
      [149, 'done', '2018-11-22T04:00:15.718Z'],
      [152, 'done', '2018-11-23T00:00:00.000Z'],
    ]);
    expect(backupsAfter(orders.backups, point(at(seed, 148))).map((b) => b.id)).toEqual([149, 152]);
  });

  it('falls back to ids when a creation time is missing or unreadable', () => {
    const v = InstanceViewSchema.parse({
      id: 38,
      instance_id: 'a9s-pg',
      backups: [
        { id: 7, backup_agent_task: null },
        { id: 9 },
        { id: 8, backup_agent_task: { status: 'done', created_at: '2018-11-22T00:00:00.000Z' } },
        { id: 3 },
        { id: 10, backup_agent_task: { status: 'done', created_at: 'yesterday' } },
      ],
    });
    expect(backupsAfter(v.backups, point(at(v, 7))).map((b) => b.id)).toEqual([8, 9, 10]);
    expect(backupsAfter(v.backups, point(at(v, 7)))[0]).toEqual({ id: 8, backupName: null, createdAt: '2018-11-22T00:00:00.000Z', status: 'done' });
  });
});

describe('compareAfterRestore', () => {
  const later = (ids: number[]) => ids.map((id) => ({ id, backupName: null, createdAt: null, status: 'done' }));

  it('says per instance which later backups are gone and which are still listed', () => {
    const after = new Map<string, InstanceView | Error>([
      ['a9s-pg', view('a9s-pg', [[148, 'done', null]])],
      ['pg-orders', view('pg-orders', [[140, 'done', null], [152, 'done', null]])],
      ['pg-empty', view('pg-empty', [])],
      ['pg-down', new Error('answered 503')],
    ]);
    expect(
      compareAfterRestore(
        [
          { instance: 'a9s-pg', known: true, later: later([149, 150]) },
          { instance: 'pg-orders', known: true, later: later([151, 152]) },
          { instance: 'pg-empty', known: true, later: [] },
          { instance: 'pg-down', known: true, later: later([153]) },
          { instance: 'pg-unread', known: false, error: 'the Backup Manager does not know it' },
        ],
        after,
      ),
    ).toEqual([
      { instance: 'a9s-pg', comparable: true, forgotten: later([149, 150]), stillListed: [] },
      { instance: 'pg-orders', comparable: true, forgotten: later([151]), stillListed: later([152]) },
      { instance: 'pg-empty', comparable: true, forgotten: [], stillListed: [] },
      { instance: 'pg-down', comparable: false, why: 'it could not be read after the restore (answered 503)' },
      { instance: 'pg-unread', comparable: false, why: 'it could not be read before the restore (the Backup Manager does not know it)' },
    ]);
  });
});

describe('laterBackupsOf', () => {
  it("reads a request stored with only its own instance's list as that one instance", () => {
    const own = [{ id: 149, backupName: null, createdAt: null }];
    expect(laterBackupsOf({ instance: 'a9s-pg', newerBackups: own, laterBackups: [] })).toEqual([{ instance: 'a9s-pg', known: true, later: own }]);
  });
});
