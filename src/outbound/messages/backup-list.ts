import type { Backup, InstanceView } from '../../domain/backups';
import { backupsNewestFirst } from '../../domain/backups';
import { button, context, message, section, type Block, type SlackMessage } from './blocks';
import { age, code, escapeMrkdwn, humanSize, statusLabel, truncate } from './format';

export const LIST_LIMIT = 10;
export const RESTORE_OPEN_ACTION = 'restore_open';

/** The value of a Restore… button: enough to open a request without trusting anything else. */
export function restoreButtonValue(instance: string, backupId: number): string {
  return JSON.stringify({ instance, backupId });
}

function line(b: Backup, now: number): string {
  const name = b.backupName ? code(b.backupName) : '_unnamed_';
  const why = b.status === 'failed' && b.task?.msg ? `\n>${escapeMrkdwn(truncate(b.task.msg, 300))}` : '';
  return `*${b.id}* ${name} · ${statusLabel(b.status, b.task?.rawStatus)} · ${b.status === 'done' ? humanSize(b.size) : '—'} · ${age(b.task?.createdAt, now)}${why}`;
}

export function renderBackupList(view: InstanceView, now: number, options: { restoreLocked?: boolean } = {}): SlackMessage {
  const latest = backupsNewestFirst(view.backups).slice(0, LIST_LIMIT);
  // 0: the REST generation reports no numeric instance id.
  const title = `Latest backups of ${code(view.instanceGuid)}${view.id > 0 ? ` (instance id ${view.id})` : ''}`;
  if (latest.length === 0) {
    return message(`No backups of ${view.instanceGuid} yet`, [
      section(`${title}\nNo backups yet. Run \`/pgbackup now ${view.instanceGuid}\` to make one.`),
    ]);
  }
  const blocks: Block[] = [section(`*${title}* — newest first, ${latest.length} of ${view.backups.length}`)];
  for (const b of latest) {
    const restorable = b.status === 'done' && !options.restoreLocked;
    blocks.push(
      section(
        line(b, now),
        restorable
          ? button({
              text: 'Restore…',
              actionId: RESTORE_OPEN_ACTION,
              value: restoreButtonValue(view.instanceGuid, b.id),
              // Ten buttons all named "Restore…" are indistinguishable to a screen reader.
              accessibilityLabel: `Restore backup ${b.id} of ${view.instanceGuid}`,
            })
          : undefined,
      ),
    );
  }
  if (options.restoreLocked) blocks.push(context(':lock: A restore of this instance is in progress; restores are disabled until it ends.'));
  else blocks.push(context('*Restore…* opens a request that someone else must approve.'));
  const text = `Latest backups of ${view.instanceGuid}: ${latest.map((b) => `${b.id} ${b.status}`).join(', ')}`;
  return message(text, blocks);
}
