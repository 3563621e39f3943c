import type { TaskStatus } from '../../domain/backups';
import type { TrackedTask } from '../../domain/tracked-task';
import { context, fields, message, section, type SlackMessage } from './blocks';
import { code, escapeMrkdwn, humanDuration, humanSize, slackDate, statusLabel, truncate, user } from './format';

/** The parent message of a backup thread: always the current state of the task. */
export function renderBackupParent(task: TrackedTask): SlackMessage {
  const final = task.finishedAt !== null;
  const pairs: Array<[string, string]> = [
    ['Instance', code(task.instance)],
    ['Status', statusLabel(task.status)],
    ['Task id', String(task.backupId)],
    ['Requested by', user(task.requester)],
  ];
  if (task.backupName) pairs.push(['Backup', code(task.backupName)]);
  if (task.status === 'done') pairs.push(['Size', humanSize(task.size)]);
  // While it runs, a "since" time rather than a duration: an edit happens only on a transition,
  // so a duration computed now would read "0s" until the next one.
  const progress = final ? `took ${humanDuration((task.finishedAt as number) - task.createdAt)}` : `${task.status} since ${slackDate(task.statusAt, '{time_secs}')}`;
  return message(`Backup of ${task.instance} (task ${task.backupId}): ${task.status}`, [
    section(`*Backup of ${code(task.instance)}* — ${statusLabel(task.status)}`),
    fields(pairs),
    context(`Started ${slackDate(task.createdAt, '{date_short_pretty} {time_secs}')} · ${progress} · updates in the thread`),
  ]);
}

/** One thread reply per observed transition. */
export function renderTransitionReply(task: TrackedTask, status: TaskStatus, rawStatus?: string): SlackMessage {
  const head = `Backup ${task.backupId} of ${task.instance}`;
  switch (status) {
    case 'queued':
      return message(`${head} is queued`, [section(`${statusLabel('queued')} Backup ${task.backupId} is queued on the Backup Manager.`)]);
    case 'running':
      return message(`${head} is running`, [section(`${statusLabel('running')} Backup ${task.backupId} is running.`)]);
    case 'done': {
      const took = humanDuration((task.finishedAt ?? task.statusAt) - task.createdAt);
      return message(`${head} is done: ${humanSize(task.size)}, ${task.backupName ?? 'unnamed'}, took ${took}`, [
        section(`${statusLabel('done')} Backup ${task.backupId} is done.`),
        fields([
          ['Size', humanSize(task.size)],
          ['backup_id', task.backupName ? code(task.backupName) : '_not reported_'],
          ['Duration', took],
        ]),
      ]);
    }
    case 'failed': {
      const why = task.msg ? escapeMrkdwn(truncate(task.msg, 2500)) : '_the Backup Manager gave no reason_';
      return message(`${head} FAILED: ${task.msg ? escapeMrkdwn(truncate(task.msg, 1000)) : 'no reason given'}`, [
        section(`${statusLabel('failed')} *Backup ${task.backupId} of ${code(task.instance)} failed.*\n>${why}`),
        context(`Requested by ${user(task.requester)} · run \`/pgbackup now ${task.instance}\` to try again`),
      ]);
    }
    case 'deleted':
      return message(`${head} was deleted`, [section(`${statusLabel('deleted')} Backup ${task.backupId} was deleted (retention).`)]);
    case 'unknown':
      return message(`${head}: status ${rawStatus ?? 'unknown'}`, [
        section(`${statusLabel('unknown', rawStatus)} The Backup Manager reports a status the bot does not know; still watching.`),
      ]);
  }
}
