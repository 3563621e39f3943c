import type { InstanceView } from './backups';
import { AGENT_LOG_PATH } from './constants';
import { findOwnRestore, type OwnRestoreQuery } from './own-restore';
import type { RestoreEnd } from './restore-request';

/**
 * How a followed restore ends, decided from what has been seen so far. Pure: the follow
 * session gathers the facts (log, reads, timer) and applies the decision.
 */

/** Answers from the manager, at least, before "not started" is concluded. */
export const CONFIRM_MIN_READS = 3;

/** The first success or failure line of the agent log since the restore request. */
export interface LogVerdict {
  outcome: 'success' | 'failure';
  line: string;
}

/** The follow-up message's final state (a subset of the renderer's FollowupState). */
export type EndState = 'success' | 'failure' | 'timeout' | 'not-started';

export interface RestoreEnding {
  outcome: RestoreEnd;
  detail: string;
  state: EndState;
}

/** What changes while a restore is followed without ending it. */
export interface FollowProgress {
  /** The restore is known to have been sent (a 2xx to the POST, the manager lists it, the log shows it). */
  confirmed: boolean;
  /** Answers of the manager that showed no sign of the restore while it was not confirmed. */
  unconfirmedReads: number;
}

export interface RestoreFacts extends FollowProgress {
  instance: string;
  isPg: boolean;
  backupId: number;
  /** The manager's id of this restore; null while unknown. */
  managerRestoreId: number | null;
  /** Nothing the manager created before this (epoch ms, less the clock skew) is this restore. */
  approvedAt: number;
  /** Restores the manager listed just before the POST. */
  knownBefore: ReadonlySet<number>;
  /** For a9s-pg: its backups made after the restored one, which the restore makes the manager forget. */
  newerBackups: readonly { id: number }[];
  log: LogVerdict | undefined;
  /** `POST /v1/restore` appeared in the agent log since the approval. */
  restoreRequestSeen: boolean;
  /** For a9s-pg: the manager was unreachable since the restore began (its restore takes it down). */
  managerSeenDown: boolean;
  /** How long the restore has been followed, and how long an unconfirmed one may go without a sign. */
  followingForMs: number;
  confirmWindowMs: number;
  /** RESTORE_TIMEOUT_MS has passed since the restore started. */
  timedOut: boolean;
  /** A log source runs: a manager's end waits a moment for the agent's last lines. */
  logFollowed: boolean;
  /** A manager's end is already held for the log: the next one ends at once. */
  holding: boolean;
  /** How the thread writes the approval time and the timeout. */
  shown: { approvedAt: string; timeout: string };
}

export type RestoreDecision =
  | ({ kind: 'follow' } & FollowProgress & Found)
  /** Hold a service instance's end for the log grace, then end with it. */
  | ({ kind: 'hold'; ending: RestoreEnding } & FollowProgress & Found)
  /**
   * `compareLaterBackups`: the manager answers after an a9s-pg restore; the summary says what it forgot.
   * `readOwnFirst`: the log ended a restore whose id is unknown; read the manager's list once
   * and decide again with it, so the request records which restore it reported on.
   */
  | ({ kind: 'end'; ending: RestoreEnding; compareLaterBackups: boolean; readOwnFirst?: boolean } & FollowProgress & Found);

interface Found {
  /** The manager's id of this restore, found in its list for the first time: record it. */
  ownRestoreId?: number;
}

/**
 * Decides after an event: a read of the instance (`view`), a log outcome (call only once the
 * restore started) or the timeout. A service instance's manager stays up, so the log's word
 * or the manager's report ends it; a9s-pg's restore takes the manager down, so it ends when
 * the manager answers again after its outage, or forgot the newer backups, or answers after
 * the log's word.
 */
export function decideRestore(facts: RestoreFacts, view?: InstanceView): RestoreDecision {
  const progress: FollowProgress = { confirmed: facts.confirmed, unconfirmedReads: facts.unconfirmedReads };
  if (facts.timedOut) {
    const detail = `No end of the restore seen within ${facts.shown.timeout}; whether it worked is unknown. Check it by hand.`;
    return { kind: 'end', ending: { outcome: 'unknown', detail, state: 'timeout' }, compareLaterBackups: false, ...progress };
  }
  if (!facts.isPg && facts.log) return { kind: 'end', ending: logEnding(facts.log), compareLaterBackups: false, ...progress, ...ownOnLogEnd(facts, view) };
  if (!view) return { kind: 'follow', ...progress };
  return facts.isPg ? decidePg(facts, view, progress) : decideService(facts, view, progress);
}

/**
 * A service instance's log may tell the end before any read found the restore the manager made
 * for an unanswered POST (under load, or with long read intervals): the id is looked up then.
 */
function ownOnLogEnd(facts: RestoreFacts, view: InstanceView | undefined): Found & { readOwnFirst?: boolean } {
  if (facts.managerRestoreId !== null) return {};
  if (!view) return { readOwnFirst: true };
  const mine = findOwnRestore(view.restores, ownQuery(facts));
  return mine ? { ownRestoreId: mine.id } : {};
}

function ownQuery(facts: RestoreFacts): OwnRestoreQuery {
  return { backupId: facts.backupId, managerRestoreId: facts.managerRestoreId, approvedAt: facts.approvedAt, knownBefore: facts.knownBefore };
}

function logEnding(log: LogVerdict): RestoreEnding {
  return { outcome: log.outcome === 'success' ? 'succeeded' : 'failed', detail: log.line, state: log.outcome };
}

function decidePg(facts: RestoreFacts, view: InstanceView, progress: FollowProgress): RestoreDecision {
  const listed = new Set(view.backups.map((b) => b.id));
  const stillListed = facts.newerBackups.filter((b) => listed.has(b.id)).length;
  // The manager answering again after its outage, or forgetting the newer backups, means the
  // restore has happened even when no log line said so.
  const forgotten = facts.newerBackups.length > 0 && stillListed === 0;
  if (facts.log || facts.managerSeenDown || forgotten) {
    const parts = [facts.log ? `Backup agent: ${facts.log.line}` : 'No log line confirmed the outcome; the Backup Manager answers again.'];
    if (stillListed > 0) parts.push(`${stillListed} of the newer backups are still listed by the manager.`);
    const ending: RestoreEnding = {
      outcome: facts.log?.outcome === 'failure' ? 'failed' : 'succeeded',
      detail: parts.join(' '),
      state: facts.log?.outcome ?? 'success',
    };
    return { kind: 'end', ending, compareLaterBackups: true, ...progress };
  }
  if (facts.restoreRequestSeen) return { kind: 'follow', ...progress, confirmed: true };
  return unconfirmed(facts, progress);
}

function decideService(facts: RestoreFacts, view: InstanceView, progress: FollowProgress): RestoreDecision {
  const mine = findOwnRestore(view.restores, ownQuery(facts));
  if (!mine) return unconfirmed(facts, progress);
  // Found it: from now on only this restore counts, also after a restart.
  const found: Found = facts.managerRestoreId === null ? { ownRestoreId: mine.id } : {};
  const next = { ...progress, confirmed: true, ...found };
  if (mine.status !== 'done' && mine.status !== 'failed') return { kind: 'follow', ...next };
  const ending: RestoreEnding =
    mine.status === 'done'
      ? { outcome: 'succeeded', detail: 'The Backup Manager reports the restore done.', state: 'success' }
      : { outcome: 'failed', detail: mine.msg ?? 'The Backup Manager reports the restore failed.', state: 'failure' };
  // The manager can be quicker than the log reaches us: the agent's last lines get a moment
  // to arrive, so the final follow-up shows them.
  if (facts.logFollowed && !facts.holding) return { kind: 'hold', ending, ...next };
  return { kind: 'end', ending, compareLaterBackups: false, ...next };
}

/**
 * The manager answered but shows no sign of a restore the bot could not confirm. Once that
 * has lasted the confirmation window, the request ends as not started: holding the
 * instance's lock for RESTORE_TIMEOUT_MS on a restore nobody sent would block everyone.
 */
function unconfirmed(facts: RestoreFacts, progress: FollowProgress): RestoreDecision {
  if (progress.confirmed) return { kind: 'follow', ...progress };
  const next = { ...progress, unconfirmedReads: progress.unconfirmedReads + 1 };
  if (next.unconfirmedReads < CONFIRM_MIN_READS || facts.followingForMs < facts.confirmWindowMs) return { kind: 'follow', ...next };
  const since = facts.shown.approvedAt;
  const seen = facts.isPg
    ? `the Backup Manager stayed up and no \`POST /v1/restore\` appeared in the backup-agent log since the approval (${since})`
    : `the Backup Manager lists no restore of backup ${facts.backupId} started since the approval (${since})`;
  const detail =
    `The Backup Manager did not confirm it: ${seen}. Nothing was sent again. ` +
    `Before retrying, check the manager's restores of ${facts.instance} and the backup-agent log (${AGENT_LOG_PATH}): a restore may still show up there.`;
  return { kind: 'end', ending: { outcome: 'not_started', detail, state: 'not-started' }, compareLaterBackups: false, ...next };
}
