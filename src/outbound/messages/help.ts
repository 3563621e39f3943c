import { message, section, context, type SlackMessage } from './blocks';
import { code } from './format';

/** mrkdwn: `<` and `>` are written as entities, or Slack would read `<backup>` as a link. */
export function usageText(defaultInstance: string): string {
  return [
    '*Usage* of `/pgbackup`:',
    `• \`/pgbackup now [instance]\` — back up now and follow it in a thread`,
    `• \`/pgbackup list [instance]\` (or \`status\` naming an instance) — the latest 10 backups, with a *Restore…* button on each finished one`,
    `• \`/pgbackup status\` — every watched or allowed instance at a glance (as the app's Home tab shows it)`,
    `• \`/pgbackup restore &lt;backup&gt; [instance] [reason…]\` — ask for a restore; a second person must approve it`,
    `• \`/pgbackup help\` — this text`,
    `\`&lt;backup&gt;\` is the numeric id (\`148\`) or the backup name (\`a9s-pg-1542859215559\`). The instance defaults to ${code(defaultInstance)}.`,
  ].join('\n');
}

export function renderHelp(defaultInstance: string): SlackMessage {
  return message('pgbackup usage: now, list, status, restore, help', [
    section(usageText(defaultInstance)),
    context('Restores need the approval of someone other than the requester. Every action is recorded.'),
  ]);
}

/** A usage error: what was wrong first, then the usage, so the fix is on screen. */
export function renderUsageError(problem: string, defaultInstance: string): SlackMessage {
  return message(`${problem}`, [section(`:warning: ${problem}`), section(usageText(defaultInstance))]);
}

export function renderNotice(text: string): SlackMessage {
  return message(text, [section(text)]);
}
