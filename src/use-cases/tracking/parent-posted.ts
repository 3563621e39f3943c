import { taskFirstReply } from '../../domain/message-keys';
import { renderTransitionReply } from '../../outbound/messages/backup-task';
import type { RefHandler } from '../../outbound/slack/outbox';
import type { Deps } from '../deps';

/**
 * What follows once a task's parent message was sent (or given up): its ts is stored (empty
 * when it never landed, so the poller stops waiting for it) and the thread starts with the
 * task's status at that moment; later transitions are the poller's.
 */
export function taskParentPosted(deps: Pick<Deps, 'store' | 'outbox'>): RefHandler {
  const { store, outbox } = deps;
  return (id, ts) => {
    const task = store.tasks.get(id);
    if (!task) return;
    store.tasks.setParentTs(id, ts ?? '');
    if (!ts) return;
    outbox.enqueue({
      ...taskFirstReply(id, task.status),
      channel: task.channel,
      method: 'chat.postMessage',
      payload: { channel: task.channel, thread_ts: ts, ...renderTransitionReply(task, task.status) },
    });
  };
}
