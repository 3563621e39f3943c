import type { Deps } from '../deps';
import { renderRestoreAudit, renderRestoreCard, renderRestoreOutcome } from '../slack/messages/restore-card';
import type { NewOutboxJob } from '../store';
import type { RestoreRequest } from '../store';

type Add = (job: NewOutboxJob) => unknown;

/**
 * What each decision on a request shows: the card edited in place, the requester told in the
 * thread, the same record in NOTIFY_CHANNEL, and the audit log. Keys make each of these
 * happen once per state, however often a decision is delivered.
 */
export function publishDecision(deps: Deps, req: RestoreRequest, actor: string, add?: Add): void {
  const { store, outbox, config, clock } = deps;
  const now = clock();
  // Rejections short of RESTORE_REJECTIONS change the card too; the suffix keeps older keys as they were.
  const votes = `${req.approvals.length}${req.rejections.length > 0 ? `:r${req.rejections.length}` : ''}`;
  const write = (a: Add) => {
    if (req.cardTs) {
      a({
        key: `restore:${req.id}:card:${req.state}:${votes}`,
        channel: req.channel,
        method: 'chat.update',
        payload: { channel: req.channel, ts: req.cardTs, ...renderRestoreCard(req, now) },
      });
      if (req.state !== 'pending') {
        a({
          key: `restore:${req.id}:outcome:${req.state}`,
          channel: req.channel,
          method: 'chat.postMessage',
          payload: { channel: req.channel, thread_ts: req.cardTs, ...renderRestoreOutcome(req) },
        });
      }
    }
    if (config.notifyChannel && config.notifyChannel !== req.channel) {
      a({
        key: `restore:${req.id}:notify:${req.state}:${votes}`,
        channel: config.notifyChannel,
        method: 'chat.postMessage',
        payload: { channel: config.notifyChannel, ...renderRestoreAudit(req) },
      });
    }
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
