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
export function publishDecision(deps: Deps, req: RestoreRequest, actor: string, add?: Add, options: { audit?: boolean } = {}): void {
  const { store, outbox, config, clock } = deps;
  const now = clock();
  const write = (a: Add) => {
    if (req.cardTs) {
      a({
        key: `restore:${req.id}:card:${req.state}:${req.approvals.length}`,
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
        key: `restore:${req.id}:notify:${req.state}:${req.approvals.length}`,
        channel: config.notifyChannel,
        method: 'chat.postMessage',
        payload: { channel: config.notifyChannel, ...renderRestoreAudit(req) },
      });
    }
    // A restart shows a state again without it having changed: not a new audit entry.
    if (options.audit === false) return;
    store.audit.record({
      at: now,
      actor,
      action: `restore.${req.state}`,
      instance: req.instance,
      requestId: req.id,
      details: { backupId: req.backupId, backupName: req.backupName, approvals: req.approvals.map((x) => x.userId), outcome: req.outcome },
    });
  };
  if (add) write(add);
  else outbox.transaction(write);
}
