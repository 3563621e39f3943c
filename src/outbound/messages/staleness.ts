import type { Backup } from '../../domain/backups';
import { context, message, section, type SlackMessage } from './blocks';
import { code, escapeMrkdwn, humanDuration, humanSize, isoTime } from './format';

/** What the manager's per-instance config says about scheduled backups (REST generation only). */
export interface ScheduleNote {
  /** null when the manager did not say. */
  excluded: boolean | null;
  retentionDays: number | null;
}

export interface StaleNoticeInput {
  instance: string;
  lastGood: Backup | null;
  lastSuccessAt: number | null;
  firstSeenAt: number;
  now: number;
  staleAfterHours: number;
  /** Absent when the API has no config (legacy generation) or it could not be read. */
  schedule?: ScheduleNote | undefined;
}

function backupLabel(backup: Backup): string {
  return `${backup.backupName ? code(backup.backupName) : `backup ${backup.id}`} (id ${backup.id}, ${humanSize(backup.size)})`;
}

function scheduleLine(schedule: ScheduleNote | undefined): string | undefined {
  if (!schedule || schedule.excluded === null) return undefined;
  const retention = schedule.retentionDays === null ? '' : ` Retention: ${schedule.retentionDays} days.`;
  return schedule.excluded
    ? `:no_entry_sign: The Backup Manager says this instance is *excluded from scheduled backups*: none will run until someone starts one.${retention}`
    : `Scheduled backups are enabled for this instance, yet none succeeded: check the manager's scheduler and the backup agent.${retention}`;
}

/** A watched instance whose newest good backup is older than STALE_AFTER_HOURS (or that has none). */
export function renderStaleNotice(input: StaleNoticeInput): SlackMessage {
  const { instance, lastGood, lastSuccessAt, firstSeenAt, now, staleAfterHours } = input;
  const plain = escapeMrkdwn(instance);
  const text =
    lastSuccessAt === null
      ? `No good backup of ${plain} seen in ${humanDuration(now - firstSeenAt)} of watching`
      : `No good backup of ${plain} for ${humanDuration(now - lastSuccessAt)} (limit ${staleAfterHours} h)`;
  const what =
    lastGood === null || lastSuccessAt === null
      ? `The Backup Manager lists no successful backup of it; the bot has watched it for ${humanDuration(now - firstSeenAt)}, more than the ${staleAfterHours} h allowed.`
      : `The newest successful backup, ${backupLabel(lastGood)}, was taken ${isoTime(lastSuccessAt)}: *${humanDuration(now - lastSuccessAt)} ago*, more than the ${staleAfterHours} h allowed.`;
  const note = scheduleLine(input.schedule);
  return message(text, [
    section(`:warning: *${code(instance)} has no recent backup*\n${what}${note ? `\n${note}` : ''}`),
    context(`\`/pgbackup now ${escapeMrkdwn(instance.replace(/`/g, "'"))}\` takes one now · \`/pgbackup list ${escapeMrkdwn(instance.replace(/`/g, "'"))}\` shows the latest backups · announced once; the recovery is announced too`),
  ]);
}

export interface FreshNoticeInput {
  instance: string;
  backup: Backup;
  takenAt: number;
  staleSince: number;
  now: number;
}

/** The end of a stale spell: a good backup appeared. */
export function renderFreshNotice(input: FreshNoticeInput): SlackMessage {
  const { instance, backup, takenAt, staleSince, now } = input;
  return message(`${escapeMrkdwn(instance)} is backed up again (stale for ${humanDuration(now - staleSince)})`, [
    section(
      `:white_check_mark: *${code(instance)} is backed up again*\n${backupLabel(backup)} was taken ${isoTime(takenAt)}; the alarm had been raised ${humanDuration(now - staleSince)} ago.`,
    ),
  ]);
}
