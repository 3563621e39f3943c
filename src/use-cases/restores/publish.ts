import type { Deps } from '../deps';
import { renderRestoreAudit, renderRestoreCard, renderRestoreOutcome } from '../../outbound/messages/restore-card';
import type { NewOutboxJob } from '../../ports/store';
import type { RestoreRequest } from '../../ports/store';
import { restoreAudit, restoreAuditUpdate, restoreCardUpdate, restoreOutcome } from '../../domain/message-keys';

type Add = (job: NewOutboxJob) => unknown;

/**
 * What each decision on a request shows: the card edited in place, the requester told in the
 * thread, the one audit message in NOTIFY_CHANNEL brought up to date, and the audit log. Keys
 * make each of these happen once per state, however often a decision is delivered.
 */
export function publishDecision(deps: Deps, req: RestoreRequest, actor: string, add?: Add, options: { audit?: boolean } = {}): void {
  const { store, outbox, clock } = deps;
  const now = clock();
  const write = (a: Add) => {
    if (req.cardTs) {
      a({
        // Rejections short of RESTORE_REJECTIONS change the card too.
        ...restoreCardUpdate(req.id, req.state, req.approvals.length, req.rejections.length),
        channel: req.channel,
        method: 'chat.update',
        payload: { channel: req.channel, ts: req.cardTs, ...renderRestoreCard(req, now) },
      });
      if (req.state !== 'pending') {
        a({
          ...restoreOutcome(req.id, req.state),
          channel: req.channel,
          method: 'chat.postMessage',
          payload: { channel: req.channel, thread_ts: req.cardTs, ...renderRestoreOutcome(req) },
        });
      }
    }
    writeAuditMessage(deps, req, a);
    // A restart shows a state again without it having changed: not a new audit entry.
    if (options.audit === false) return;
    store.audit.record({
      at: now,
      actor,
      action: `restore.${req.state}`,
      instance: req.instance,
      requestId: req.id,
      details: {
        backupId: req.backupId,
        backupName: req.backupName,
        approvals: req.approvals.map((x) => x.userId),
        ...(req.rejections.length > 0 ? { rejections: req.rejections.map((x) => x.userId) } : {}),
        outcome: req.outcome,
      },
    });
  };
  if (add) write(add);
  else outbox.transaction(write);
}

/**
 * One message per restore in NOTIFY_CHANNEL, edited as the request moves on, so the channel's
 * failure notices are not buried under four posts per restore. Its first post carries the ref
 * `restore-audit:<id>`; edits need its ts, so while it is still on its way they are left to
 * `refreshAuditMessage`, which runs once it has landed.
 */
function writeAuditMessage(deps: Deps, req: RestoreRequest, a: Add): void {
  const { config, store, permalinks } = deps;
  const channel = config.notifyChannel;
  if (!channel || channel === req.channel) return;
  const link = req.cardTs ? permalinks?.get(req.channel, req.cardTs) : undefined;
  if (req.cardTs && !link) permalinks?.request(req.channel, req.cardTs, () => refreshAuditMessage(deps, req.id));
  const posted = store.outbox.byKey(restoreAudit(req.id).key);
  const content = renderRestoreAudit(req, link);
  if (!posted) {
    a({ ...restoreAudit(req.id), channel, method: 'chat.postMessage', payload: { channel, ...content } });
    return;
  }
  if (!posted.resultTs) return;
  a({
    ...restoreAuditUpdate(req.id, req.state, req.approvals.length, req.rejections.length, Boolean(link)),
    channel,
    method: 'chat.update',
    payload: { channel, ts: posted.resultTs, ...content },
  });
}

/** Brings the audit message up to date (after it landed, or once the card's link is known). */
export function refreshAuditMessage(deps: Deps, id: number): void {
  const req = deps.store.restores.get(id);
  const posted = deps.store.outbox.byKey(restoreAudit(id).key);
  if (!req || !posted?.resultTs) return;
  const link = req.cardTs ? deps.permalinks?.get(req.channel, req.cardTs) : undefined;
  // Nothing changed since the post: no edit.
  if (JSON.stringify(posted.payload.blocks) === JSON.stringify(renderRestoreAudit(req, link).blocks)) return;
  deps.outbox.transaction((a) => writeAuditMessage(deps, req, a));
}
