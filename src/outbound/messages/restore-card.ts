import type { LaterBackupsOf, RestoreRequest } from '../../domain/restore-request';
import { actions, button, context, divider, fields, header, message, section, type Block, type SlackMessage } from './blocks';
import { age, code, escapeMrkdwn, humanSize, isoTime, truncate, user } from './format';
import { laterBackupsOf, laterBackupsText } from './restore-impact';

export { newerBackupsList } from './restore-impact';

export const APPROVE_ACTION = 'restore_approve';
export const REJECT_ACTION = 'restore_reject';
export const WITHDRAW_ACTION = 'restore_withdraw';

/** The instance whose restore takes the Backup Manager down with it (seed: "a9s-pg Backup"). */
import { A9S_PG } from '../../domain/constants';

export { A9S_PG };

/** The seed's warnings, said plainly, for the card an approver reads before clicking. */
export function a9sPgWarnings(later: readonly LaterBackupsOf[]): string {
  return [
    ':warning: *Restoring a9s-pg, the Backup Manager\'s own database:*',
    '• The Backup Manager is *unavailable* while the restore runs; progress comes from the backup-agent log only.',
    '• The restore is *not recorded* by the Backup Manager; this thread and the bot\'s audit log are the record.',
    laterBackupsText(later),
    '• *Ghost instances* may result: service instances deployed after this backup are no longer known to the a9s Service Broker and Deployer.',
  ].join('\n');
}

function stateLine(r: RestoreRequest): string {
  const by = r.decidedBy ? user(r.decidedBy) : 'someone';
  const when = r.decidedAt ? isoTime(r.decidedAt) : '';
  switch (r.state) {
    case 'pending':
      return `:hourglass_flowing_sand: *Waiting for approval* — ${r.approvalsNeeded - r.approvals.length} more needed; expires ${isoTime(r.expiresAt)}`;
    case 'approved':
      return `:white_check_mark: *Approved* by ${by} at ${when} — starting the restore…`;
    case 'running':
      return `:arrows_counterclockwise: *Restore running* since ${r.startedAt ? isoTime(r.startedAt) : when} (approved by ${by}) — follow it in the thread`;
    case 'succeeded':
      return `:white_check_mark: *Restore finished* at ${r.finishedAt ? isoTime(r.finishedAt) : '?'} (approved by ${by})`;
    case 'failed':
      return `:x: *Restore failed*${r.outcome ? `: ${escapeMrkdwn(truncate(r.outcome, 500))}` : ''} (approved by ${by})`;
    case 'rejected':
      return `:no_entry: *Rejected* by ${by} at ${when}. Nothing was restored.`;
    case 'withdrawn':
      return `:leftwards_arrow_with_hook: *Withdrawn* by ${by} at ${when}. Nothing was restored.`;
    case 'expired':
      return `:alarm_clock: *Expired* at ${when || isoTime(r.expiresAt)} without enough approvals. Nothing was restored.`;
    case 'not_started':
      return `:no_entry_sign: *Not started*${r.outcome ? `: ${escapeMrkdwn(truncate(r.outcome, 500))}` : ''}`;
    case 'unknown':
      return `:grey_question: *Outcome unknown*${r.outcome ? `: ${escapeMrkdwn(truncate(r.outcome, 500))}` : ''} (approved by ${by})`;
  }
}

export function renderRestoreCard(r: RestoreRequest, now: number): SlackMessage {
  const backup = `${r.backupId}${r.backupName ? ` · ${code(r.backupName)}` : ''}`;
  const blocks: Block[] = [
    header(`Restore of ${r.instance} requested`),
    fields([
      ['Instance', r.instanceNumericId > 0 ? `${code(r.instance)} (id ${r.instanceNumericId})` : code(r.instance)],
      ['Backup', backup],
      ['Backup age', age(r.backupCreatedAt, now)],
      ['Size', humanSize(r.backupSize)],
      ['Requested by', user(r.requester)],
      ['Approvals', `${r.approvals.length} of ${r.approvalsNeeded}`],
    ]),
    section(`*Reason:* ${r.reason ? escapeMrkdwn(truncate(r.reason, 1000)) : '_none given_'}`),
  ];
  if (r.instance === A9S_PG) blocks.push(section(a9sPgWarnings(laterBackupsOf(r))));
  blocks.push(divider());
  if (r.approvals.length > 0) {
    blocks.push(context(r.approvals.map((a) => `:ballot_box_with_check: ${user(a.userId)} approved at ${isoTime(a.at)}`).join('\n')));
  }
  if (r.rejections.length > 0 && r.state === 'pending') {
    const left = r.rejectionsNeeded - r.rejections.length;
    blocks.push(
      context(
        `${r.rejections.map((x) => `:x: ${user(x.userId)} rejected at ${isoTime(x.at)}`).join('\n')}\n${left} more rejection${left === 1 ? '' : 's'} end${left === 1 ? 's' : ''} the request.`,
      ),
    );
  }
  blocks.push(section(stateLine(r)));
  if (r.state === 'pending') {
    const value = String(r.id);
    blocks.push(
      actions(`restore-${r.id}`, [
        button({
          text: 'Approve',
          actionId: APPROVE_ACTION,
          value,
          style: 'primary',
          confirm: {
            title: 'Approve this restore?',
            text: `Restore ${r.instance} to backup ${r.backupId}${r.backupName ? ` (${r.backupName})` : ''}. The current data of ${r.instance} will be replaced.`,
            confirm: 'Approve restore',
            deny: 'Cancel',
            style: 'danger',
          },
        }),
        button({ text: 'Reject', actionId: REJECT_ACTION, value, style: 'danger' }),
        button({ text: 'Withdraw (requester)', actionId: WITHDRAW_ACTION, value }),
      ]),
    );
    blocks.push(context(`The requester can not approve their own restore. Request #${r.id}.`));
  } else {
    blocks.push(context(`Request #${r.id}`));
  }
  return message(`Restore of ${r.instance} to backup ${r.backupId} requested by ${escapeMrkdwn(r.requester)}: ${r.state}`, blocks);
}

/** The thread reply telling the requester what became of their request. */
export function renderRestoreOutcome(r: RestoreRequest): SlackMessage {
  const text = `${user(r.requester)} ${stateLine(r)}`;
  return message(`Restore request #${r.id} of ${r.instance}: ${r.state}`, [section(text)]);
}

/** The one record of a restore in NOTIFY_CHANNEL, edited with each decision; `link` leads to its thread. */
export function renderRestoreAudit(r: RestoreRequest, link?: string): SlackMessage {
  const blocks: Block[] = [
    section(`*Restore #${r.id}* of ${code(r.instance)} to backup ${r.backupId}${r.backupName ? ` (${code(r.backupName)})` : ''}, requested by ${user(r.requester)}`),
    section(stateLine(r)),
  ];
  // Slack links are `<url|label>`: a link with `|`, `<` or `>` in it is not one Slack gave.
  if (link && /^https:\/\/[^\s|<>]+$/.test(link)) blocks.push(context(`<${link}|Open the restore thread>`));
  return message(`Restore request #${r.id} of ${r.instance} (backup ${r.backupId}): ${r.state}`, blocks);
}
