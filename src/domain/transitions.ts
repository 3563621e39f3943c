import type { Backup, InstanceView, TaskStatus } from './backups';
import { isFinal } from './backups';
import type { ObservedTask, TrackedTask } from './tracked-task';

export interface Transition {
  task: TrackedTask;
  observed: ObservedTask;
  rawStatus: string | undefined;
}

/** How many polls in a row a tracked backup may be missing before the bot stops waiting for it. */
export const MISSING_POLLS_LIMIT = 3;

/**
 * Pure diff of the tracked tasks of one instance against a fresh instance view: one
 * transition per task whose status changed. Statuses in between two polls are not invented.
 */
export function diffTasks(
  tasks: readonly TrackedTask[],
  view: InstanceView,
  now: number,
  missingPolls: ReadonlyMap<number, number>,
): { transitions: Transition[]; missing: number[] } {
  const byId = new Map<number, Backup>(view.backups.map((b) => [b.id, b]));
  const transitions: Transition[] = [];
  const missing: number[] = [];
  for (const task of tasks) {
    const backup = byId.get(task.backupId);
    if (!backup) {
      missing.push(task.id);
      if ((missingPolls.get(task.id) ?? 0) + 1 >= MISSING_POLLS_LIMIT) {
        transitions.push({
          task,
          observed: { status: 'unknown', backupName: null, size: null, msg: 'no longer listed by the Backup Manager', at: now, active: false },
          rawStatus: 'no longer listed',
        });
      }
      continue;
    }
    const status: TaskStatus = backup.status;
    if (status === task.status) continue;
    transitions.push({
      task,
      observed: {
        status,
        backupName: backup.backupName,
        size: backup.size,
        msg: backup.task?.msg ?? null,
        at: now,
        active: !isFinal(status),
      },
      rawStatus: backup.task?.rawStatus,
    });
  }
  return { transitions, missing };
}
