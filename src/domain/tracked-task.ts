import type { TaskStatus } from './backups';

/** A backup the bot follows in a Slack thread. */
export interface TrackedTask {
  id: number;
  instance: string;
  /** The manager's backup id (also its task_id). */
  backupId: number;
  channel: string;
  /** ts of the parent message; null until Slack has answered the post. */
  parentTs: string | null;
  requester: string;
  /** The last status observed and announced. */
  status: TaskStatus;
  backupName: string | null;
  size: number | null;
  msg: string | null;
  createdAt: number;
  statusAt: number;
  finishedAt: number | null;
  active: boolean;
}

/** What one read of the manager says of a tracked backup. */
export interface ObservedTask {
  status: TaskStatus;
  backupName: string | null;
  size: number | null;
  msg: string | null;
  at: number;
  /** false once the status is final: the task leaves the poll set. */
  active: boolean;
}
