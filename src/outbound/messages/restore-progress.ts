import type { ForgottenOf } from '../../domain/later-backups';
import { AGENT_LOG_PATH } from '../../domain/constants';
import type { RestoreEnd, RestoreRequest } from '../../domain/restore-request';
import { context, message, section, type SlackMessage } from './blocks';
import { code, escapeMrkdwn, humanDuration, LIMITS, user } from './format';
import { forgottenText, laterBackupsOf, laterBackupsText } from './restore-impact';

export { AGENT_LOG_PATH };
export const MANUAL_TAIL_COMMAND = `bosh -d <a9s-pg deployment> ssh pg/0 -c 'sudo tail -F ${AGENT_LOG_PATH}'`;

export type FollowupState = 'following' | 'success' | 'failure' | 'timeout' | 'unconfigured' | 'source-ended' | 'not-started';

export interface FollowupView {
  state: FollowupState;
  lines: readonly string[];
  source: string | null;
  /** The line that decided the outcome, if any. */
  reason?: string;
}

const STATE_LINE: Record<FollowupState, string> = {
  following: ':arrows_counterclockwise: Following the backup-agent log…',
  success: ':white_check_mark: The backup agent reports *success*.',
  failure: ':x: The backup agent reports a *failure*.',
  timeout: ':alarm_clock: Stopped following the log: no end seen in time. Check the restore by hand.',
  unconfigured: ':information_source: No log source is configured (`LOG_TAIL_FILE` or `LOG_TAIL_COMMAND`).',
  'source-ended': ':warning: The log source ended before the restore did. Check the restore by hand.',
  'not-started': ':no_entry_sign: Stopped following: the Backup Manager did not confirm that this restore started.',
};

/** Code-block of log lines (escaped: Slack parses `<…>` even there) that stays under the section limit, newest lines kept. */
function logBlock(lines: readonly string[]): string {
  const fence = '```';
  const budget = LIMITS.sectionText - 2 * fence.length - 2;
  const kept: string[] = [];
  let used = 0;
  for (let i = lines.length - 1; i >= 0; i--) {
    const l = escapeMrkdwn((lines[i] as string).replace(/```/g, "'''"));
    if (used + l.length + 1 > budget) break;
    kept.unshift(l);
    used += l.length + 1;
  }
  return `${fence}\n${kept.length > 0 ? kept.join('\n') : '(no lines yet)'}\n${fence}`;
}

export function renderLogFollowup(r: RestoreRequest, view: FollowupView): SlackMessage {
  const head = `*Backup-agent log* for the restore of ${code(r.instance)} to backup ${r.backupId}`;
  if (view.state === 'unconfigured') {
    return message(`No log source configured for the restore of ${r.instance}; run the tail by hand`, [
      section(head),
      section(`${STATE_LINE.unconfigured}\nTo watch it by hand, on a machine with BOSH access run:\n\`\`\`${escapeMrkdwn(MANUAL_TAIL_COMMAND)}\`\`\``),
    ]);
  }
  const reason = view.reason ? `\n>${escapeMrkdwn(view.reason.slice(0, 500))}` : '';
  return message(`Backup-agent log of the restore of ${r.instance}: ${view.state}`, [
    section(head),
    section(logBlock(view.lines)),
    section(`${STATE_LINE[view.state]}${reason}`),
    context(`Source: ${view.source ? code(view.source) : 'none'} · last ${view.lines.length} lines · ${AGENT_LOG_PATH}`),
  ]);
}

const SUMMARY_WORD: Record<RestoreEnd, string> = {
  succeeded: 'succeeded',
  failed: 'failed',
  not_started: 'not started',
  unknown: 'ended with its outcome unknown',
};

const SUMMARY_EMOJI: Record<RestoreEnd, string> = {
  succeeded: ':white_check_mark:',
  failed: ':x:',
  not_started: ':no_entry_sign:',
  unknown: ':grey_question:',
};

/**
 * The summary posted once a restore is over; for a9s-pg, after the manager answers again.
 * `forgotten` is, per instance, what the manager no longer lists (read after the restore);
 * without it the summary can only repeat what the card expected.
 */
export function renderRestoreSummary(
  r: RestoreRequest,
  outcome: RestoreEnd,
  detail: string,
  endedAt: number,
  forgotten?: readonly ForgottenOf[],
): SlackMessage {
  // A restore that never started took no time: "took 0s" would read as a finished restore.
  const took = outcome === 'not_started' ? '' : ` — took ${r.startedAt ? humanDuration(endedAt - r.startedAt) : 'unknown'}`;
  const word = SUMMARY_WORD[outcome];
  const lines = [
    `${SUMMARY_EMOJI[outcome]} *Restore of ${code(r.instance)} to backup ${r.backupId} ${word}*${took}.`,
    detail ? `>${escapeMrkdwn(detail.slice(0, 1000))}` : '',
    `Requested by ${user(r.requester)}${r.decidedBy ? `, approved by ${user(r.decidedBy)}` : ''}.`,
  ];
  const blocks = [section(lines.filter((l) => l !== '').join('\n'))];
  if (r.instance === 'a9s-pg' && outcome !== 'not_started') {
    const impact = forgotten
      ? forgottenText(r.backupId, forgotten)
      : `*Backups made after backup ${r.backupId}*, which the Backup Manager ${outcome === 'unknown' ? 'may no longer know' : 'forgets when this restore went through'} (not checked after it):\n${laterBackupsText(laterBackupsOf(r))}`;
    blocks.push(section(impact), section('Check for *ghost instances*: service instances deployed after this backup are unknown to the Service Broker and Deployer.'));
  }
  return message(`Restore of ${r.instance} to backup ${r.backupId} ${word}${took.replace(' — ', ' (')}${took ? ')' : ''}`, [
    ...blocks,
    context('This record is kept in the bot\'s audit log; for a9s-pg the Backup Manager keeps none.'),
  ]);
}
