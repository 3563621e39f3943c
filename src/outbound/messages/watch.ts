import type { Backup } from '../../domain/backups';
import { context, message, section, type SlackMessage } from './blocks';
import { code, escapeMrkdwn, humanDuration, isoTime, truncate } from './format';

/** A failed backup found by the watch, scheduled ones included. */
export function renderFailureNotice(instance: string, backup: Backup, seenAt: number): SlackMessage {
  const why = backup.task?.msg ? escapeMrkdwn(truncate(backup.task.msg, 2500)) : '_the Backup Manager gave no reason_';
  const when = backup.task?.updatedAt ?? backup.task?.createdAt ?? isoTime(seenAt);
  return message(`Backup ${backup.id} of ${instance} FAILED: ${backup.task?.msg ? escapeMrkdwn(truncate(backup.task.msg, 1000)) : 'no reason given'}`, [
    section(`:x: *Backup ${backup.id} of ${code(instance)} failed*${backup.backupName ? ` (${code(backup.backupName)})` : ''}\n>${why}`),
    context(`Failed at ${when} · \`/pgbackup list ${instance}\` shows the latest backups · \`/pgbackup now ${instance}\` tries again`),
  ]);
}

export function renderOutageNotice(instance: string, since: number, now: number): SlackMessage {
  const text = `Backup Manager unreachable for ${humanDuration(now - since)} (watching ${instance})`;
  return message(text, [
    section(`:rotating_light: *Backup Manager unreachable* for ${humanDuration(now - since)}, since ${isoTime(since)}.\nBackup failures of ${code(instance)} can not be seen until it answers again.`),
  ]);
}

export function renderRecoveryNotice(instance: string, since: number, now: number): SlackMessage {
  return message(`Backup Manager reachable again after ${humanDuration(now - since)}`, [
    section(`:large_green_circle: *Backup Manager reachable again* after ${humanDuration(now - since)} (watching ${code(instance)}).`),
  ]);
}
