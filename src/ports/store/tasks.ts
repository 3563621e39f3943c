import type { TaskStatus } from '../../domain/backups';
import type { ObservedTask, TrackedTask } from '../../domain/tracked-task';

export type { ObservedTask, TrackedTask };
import type { SqlDb as Db } from './sql/sql-db';


interface Row {
  id: number;
  instance: string;
  backup_id: number;
  channel: string;
  parent_ts: string | null;
  requester: string;
  status: string;
  backup_name: string | null;
  size: number | null;
  msg: string | null;
  created_at: number;
  status_at: number;
  finished_at: number | null;
  active: number;
}

const toTask = (r: Row): TrackedTask => ({
  id: r.id,
  instance: r.instance,
  backupId: r.backup_id,
  channel: r.channel,
  parentTs: r.parent_ts,
  requester: r.requester,
  status: r.status as TaskStatus,
  backupName: r.backup_name,
  size: r.size,
  msg: r.msg,
  createdAt: r.created_at,
  statusAt: r.status_at,
  finishedAt: r.finished_at,
  active: r.active === 1,
});

export interface NewTask {
  instance: string;
  backupId: number;
  channel: string;
  requester: string;
  status: TaskStatus;
  at: number;
}


export class TasksRepo {
  private readonly stmts;

  constructor(private readonly db: Db) {
    this.stmts = {
      insert: db.prepare(
        `INSERT INTO tracked_tasks (instance, backup_id, channel, requester, status, created_at, status_at)
         VALUES (@instance, @backupId, @channel, @requester, @status, @at, @at)
         ON CONFLICT (instance, backup_id) DO NOTHING`,
      ),
      byKey: db.prepare('SELECT * FROM tracked_tasks WHERE instance = ? AND backup_id = ?'),
      byId: db.prepare('SELECT * FROM tracked_tasks WHERE id = ?'),
      setParent: db.prepare('UPDATE tracked_tasks SET parent_ts = ? WHERE id = ? AND parent_ts IS NULL'),
      active: db.prepare('SELECT * FROM tracked_tasks WHERE active = 1 ORDER BY id'),
      activeOn: db.prepare('SELECT * FROM tracked_tasks WHERE active = 1 AND instance = ? ORDER BY id'),
      activeInstances: db.prepare('SELECT DISTINCT instance FROM tracked_tasks WHERE active = 1 ORDER BY instance'),
      everInstances: db.prepare('SELECT DISTINCT instance FROM tracked_tasks ORDER BY instance'),
      // Conditional on the previous status so two observers can never both claim a transition.
      transition: db.prepare(
        `UPDATE tracked_tasks SET status = @status, backup_name = COALESCE(@backupName, backup_name),
           size = COALESCE(@size, size), msg = COALESCE(@msg, msg), status_at = @at,
           active = @active, finished_at = COALESCE(@finishedAt, finished_at)
         WHERE id = @id AND status = @from`,
      ),
      countByStatus: db.prepare('SELECT status, COUNT(*) AS n FROM tracked_tasks WHERE active = 1 GROUP BY status'),
    };
  }

  /** Inserts the task unless it is already tracked; returns the stored task either way. */
  track(task: NewTask): TrackedTask {
    this.stmts.insert.run({ ...task });
    return toTask(this.stmts.byKey.get(task.instance, task.backupId) as Row);
  }

  get(id: number): TrackedTask | undefined {
    const r = this.stmts.byId.get(id) as Row | undefined;
    return r ? toTask(r) : undefined;
  }

  find(instance: string, backupId: number): TrackedTask | undefined {
    const r = this.stmts.byKey.get(instance, backupId) as Row | undefined;
    return r ? toTask(r) : undefined;
  }

  setParentTs(id: number, ts: string): void {
    this.stmts.setParent.run(ts, id);
  }

  listActive(instance?: string): TrackedTask[] {
    const rows = (instance === undefined ? this.stmts.active.all() : this.stmts.activeOn.all(instance)) as Row[];
    return rows.map(toTask);
  }

  activeInstances(): string[] {
    return (this.stmts.activeInstances.all() as Array<{ instance: string }>).map((r) => r.instance);
  }

  /** Every instance the bot has ever tracked a backup of, finished or not. */
  trackedInstances(): string[] {
    return (this.stmts.everInstances.all() as Array<{ instance: string }>).map((r) => r.instance);
  }

  /** Moves a task from `from` to the observed status; false when someone else already did. */
  transition(id: number, from: TaskStatus, observed: ObservedTask): boolean {
    return (
      this.stmts.transition.run({
        id,
        from,
        status: observed.status,
        backupName: observed.backupName,
        size: observed.size,
        msg: observed.msg,
        at: observed.at,
        active: observed.active ? 1 : 0,
        finishedAt: observed.active ? null : observed.at,
      }).changes === 1
    );
  }

  activeCountsByStatus(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const r of this.stmts.countByStatus.all() as Array<{ status: string; n: number }>) out[r.status] = r.n;
    return out;
  }
}
