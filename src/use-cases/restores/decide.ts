import type { Deps, Origin } from '../deps';
import type { Permission } from '../../domain/access-policy';
import { renderRefusal } from '../../outbound/messages/access';
import { renderNotice } from '../../outbound/messages/help';
import { code } from '../../outbound/messages/format';
import { InstanceLockedError, type RestoreRequest } from '../../ports/store';
import { publishDecision } from './publish';

export type DecisionOutcome =
  | 'approved'
  | 'approval-recorded'
  | 'already-approved'
  | 'self-approval'
  | 'not-an-approver'
  | 'wrong-channel'
  | 'membership-unknown'
  | 'rejection-recorded'
  | 'already-rejected'
  | 'rejected'
  | 'withdrawn'
  | 'not-requester'
  | 'decided'
  | 'expired'
  | 'locked'
  | 'wrong-card'
  | 'card-not-posted'
  | 'unknown';

/**
 * A click on a restore card: who, where, and the message that carried the button. The
 * request id comes from the button's value, which anyone can put on any message; only the
 * channel and message ts say which card was really clicked.
 */
export interface CardClick extends Origin {
  messageTs: string | undefined;
}

/** Starts an approved restore; the runner implements it. */
export type StartRestore = (req: RestoreRequest) => void;

const DECIDED = ':information_source: This restore request was already decided; nothing changed.';
const EXPIRED = ':alarm_clock: This restore request has expired; nothing changed. Ask again with `/pgbackup restore`.';

/**
 * A decision counts only from the request's own card. Until the card's ts is known (the post
 * is still on its way) no click can be checked, so none is taken.
 */
async function refuseForeignCard(deps: Deps, origin: CardClick, req: RestoreRequest): Promise<DecisionOutcome | undefined> {
  if (req.cardTs === null) {
    await origin.reply(renderNotice(':hourglass_flowing_sand: The card of this restore request is still being posted; nothing changed. Click again in a moment.'));
    return 'card-not-posted';
  }
  if (origin.channel === req.channel && origin.messageTs === req.cardTs) return undefined;
  deps.store.audit.record({
    at: deps.clock(),
    actor: origin.user,
    action: 'restore.click-refused',
    instance: req.instance,
    requestId: req.id,
    details: { reason: 'not the request card', clickedChannel: origin.channel, clickedTs: origin.messageTs ?? null, cardChannel: req.channel, cardTs: req.cardTs },
  });
  await origin.reply(renderNotice(`:no_entry: This button does not belong to the card of restore request #${req.id}; nothing changed. Decide on the request's own card.`));
  return 'wrong-card';
}

/**
 * The current rules at the time of the click, never what the card shows: the channel must
 * still be allowed and, for approve and reject, the person an approver now.
 */
async function refuseUnauthorised(deps: Deps, origin: CardClick, req: RestoreRequest, permission: Permission, action: string): Promise<DecisionOutcome | undefined> {
  const verdict = await deps.access.check({ user: origin.user, channel: origin.channel, permission, action, instance: req.instance, requestId: req.id });
  if (verdict.allowed) return undefined;
  await origin.reply(renderRefusal(verdict, 'decide on restore requests'));
  if (verdict.reason === 'channel') return 'wrong-channel';
  if (verdict.reason === 'membership-unknown') return 'membership-unknown';
  return 'not-an-approver';
}

/** A refusal by the restore rules themselves (the access rules audit their own). */
function auditRefusal(deps: Deps, origin: CardClick, req: RestoreRequest, action: string, reason: string): void {
  deps.store.audit.record({ at: deps.clock(), actor: origin.user, action: 'access.refused', instance: req.instance, requestId: req.id, details: { reason, action, channel: origin.channel } });
}

/** Loads the request and answers clicks on foreign, decided or expired cards; a request means "go on". */
async function pendingRequest(deps: Deps, origin: CardClick, id: number): Promise<RestoreRequest | DecisionOutcome> {
  const { store, clock } = deps;
  const req = store.restores.get(id);
  if (!req) {
    await origin.reply(renderNotice(':warning: I do not know this restore request.'));
    return 'unknown';
  }
  const foreign = await refuseForeignCard(deps, origin, req);
  if (foreign) return foreign;
  if (req.state === 'expired') {
    await origin.reply(renderNotice(EXPIRED));
    return 'expired';
  }
  if (req.state !== 'pending') {
    await origin.reply(renderNotice(DECIDED));
    return 'decided';
  }
  if (clock() >= req.expiresAt) {
    expireDue(deps);
    await origin.reply(renderNotice(EXPIRED));
    return 'expired';
  }
  return req;
}

/**
 * Approve: the rules are checked against the stored request, never the card. The quorum
 * move is one conditional update, so only one of any number of simultaneous clicks or
 * redeliveries gets `approved` and starts the restore.
 */
export async function approveRestore(deps: Deps, origin: CardClick, id: number, start: StartRestore): Promise<DecisionOutcome> {
  const req = await pendingRequest(deps, origin, id);
  if (typeof req === 'string') return req;
  const { store, clock } = deps;
  if (origin.user === req.requester) {
    auditRefusal(deps, origin, req, 'restore.approve', 'self-approval');
    await origin.reply(renderNotice(':no_entry: You requested this restore, so you can not approve it. Someone else has to.'));
    return 'self-approval';
  }
  const refused = await refuseUnauthorised(deps, origin, req, 'approve', 'restore.approve');
  if (refused) return refused;
  if (req.rejections.some((r) => r.userId === origin.user)) {
    await origin.reply(renderNotice(':information_source: You rejected this restore; a rejection is not taken back. Nothing changed.'));
    return 'already-rejected';
  }
  let result: { added: boolean; approved: boolean };
  try {
    result = store.restores.approve(id, origin.user, clock());
  } catch (err) {
    if (err instanceof InstanceLockedError) {
      await origin.reply(renderNotice(`:lock: A restore of ${code(req.instance)} is already in progress; approve this one once it has ended.`));
      return 'locked';
    }
    throw err;
  }
  const after = store.restores.get(id) as RestoreRequest;
  if (result.approved) {
    publishDecision(deps, after, origin.user);
    start(after);
    return 'approved';
  }
  if (!result.added) {
    await origin.reply(renderNotice(after.state === 'pending' ? ':information_source: You already approved this restore.' : DECIDED));
    return after.state === 'pending' ? 'already-approved' : 'decided';
  }
  publishDecision(deps, after, origin.user);
  await origin.reply(renderNotice(`:ballot_box_with_check: Approval recorded; ${after.approvalsNeeded - after.approvals.length} more needed.`));
  return 'approval-recorded';
}

/**
 * Reject by the people who may approve; the requester's own "reject" is a withdrawal. The
 * request ends with the RESTORE_REJECTIONS-th rejection, in one conditional update.
 */
export async function rejectRestore(deps: Deps, origin: CardClick, id: number): Promise<DecisionOutcome> {
  const req = await pendingRequest(deps, origin, id);
  if (typeof req === 'string') return req;
  if (origin.user === req.requester) {
    const refused = await refuseUnauthorised(deps, origin, req, 'use', 'restore.withdraw');
    return refused ?? decide(deps, origin, req, 'withdrawn');
  }
  const refused = await refuseUnauthorised(deps, origin, req, 'approve', 'restore.reject');
  if (refused) return refused;
  if (req.approvals.some((a) => a.userId === origin.user)) {
    await origin.reply(renderNotice(':information_source: You approved this restore; an approval is not taken back. Nothing changed.'));
    return 'already-approved';
  }
  const { store, clock } = deps;
  const result = store.restores.reject(id, origin.user, clock());
  const after = store.restores.get(id) as RestoreRequest;
  if (result.rejected) {
    publishDecision(deps, after, origin.user);
    return 'rejected';
  }
  if (!result.added) {
    await origin.reply(renderNotice(after.state === 'pending' ? ':information_source: You already rejected this restore.' : DECIDED));
    return after.state === 'pending' ? 'already-rejected' : 'decided';
  }
  publishDecision(deps, after, origin.user);
  await origin.reply(renderNotice(`:ballot_box_with_check: Rejection recorded; ${after.rejectionsNeeded - after.rejections.length} more end the request.`));
  return 'rejection-recorded';
}

export async function withdrawRestore(deps: Deps, origin: CardClick, id: number): Promise<DecisionOutcome> {
  const req = await pendingRequest(deps, origin, id);
  if (typeof req === 'string') return req;
  const refused = await refuseUnauthorised(deps, origin, req, 'use', 'restore.withdraw');
  if (refused) return refused;
  if (origin.user !== req.requester) {
    auditRefusal(deps, origin, req, 'restore.withdraw', 'not-requester');
    await origin.reply(renderNotice(':information_source: Only the requester can withdraw a request; use *Reject* to stop it.'));
    return 'not-requester';
  }
  return decide(deps, origin, req, 'withdrawn');
}

async function decide(deps: Deps, origin: Origin, req: RestoreRequest, to: 'withdrawn'): Promise<DecisionOutcome> {
  if (!deps.store.restores.decide(req.id, to, origin.user, deps.clock())) {
    await origin.reply(renderNotice(DECIDED));
    return 'decided';
  }
  publishDecision(deps, deps.store.restores.get(req.id) as RestoreRequest, origin.user);
  return to;
}

/** Expires overdue requests and shows it on their cards; returns how many. */
export function expireDue(deps: Deps): number {
  const ids = deps.store.restores.expireDue(deps.clock());
  for (const id of ids) {
    const req = deps.store.restores.get(id);
    if (req) publishDecision(deps, req, 'pgbackup-bot');
  }
  return ids.length;
}
