import type { Logger } from 'pino';
import { BackupManagerError, NotFoundError } from '../../domain/manager-errors';
import type { InstanceView } from '../../domain/backups';
import type { InstanceReader, ReadOutcome, Subscription } from '../../reader/instance-reader';
import type { Outbox } from '../../outbound/slack/outbox';
import { renderBackupParent, renderTransitionReply } from '../../outbound/messages/backup-task';
import { renderFailureNotice } from '../../outbound/messages/watch';
import type { Store } from '../../ports/store';
import { diffTasks, type Transition } from '../../domain/transitions';
import { failureNotice, taskParentUpdate, taskReply } from '../../domain/message-keys';

export interface PollerOptions {
  reader: InstanceReader;
  store: Store;
  outbox: Outbox;
  logger: Logger;
  clock?: () => number;
  notifyChannel: string | undefined;
}

/**
 * Follows tracked backups: subscribes to the instance reader for each instance with active
 * tasks, at the active cadence, so N tasks on one instance cost one read per interval. The only
 * writer of task status; each change becomes outbox jobs in the same transaction, so a restart
 * neither loses nor repeats a transition.
 */
export class Poller {
  private readonly subscriptions = new Map<string, Subscription>();
  private readonly missing = new Map<number, number>();
  private readonly clock: () => number;
  private stopped = false;
  /** Only the leader follows tasks (one bot: from its start); a follower's wake is a no-op. */
  private started = false;

  constructor(private readonly options: PollerOptions) {
    this.clock = options.clock ?? Date.now;
  }

  /**
   * Resumes tracking whatever the store says is still active: after a restart, when this
   * replica becomes the leader, and on each of the leader's rounds (tasks other replicas stored).
   */
  start(): void {
    this.started = true;
    for (const instance of this.options.store.tasks.activeInstances()) this.wake(instance);
  }

  /** Makes sure the instance is followed; cheap to call again. */
  wake(instance: string): void {
    if (!this.started || this.stopped || this.subscriptions.has(instance)) return;
    this.subscriptions.set(
      instance,
      this.options.reader.subscribe(instance, 'active', (outcome) => this.onRead(instance, outcome)),
    );
  }

  polledInstances(): string[] {
    return [...this.subscriptions.keys()];
  }

  stop(): void {
    this.stopped = true;
    for (const subscription of this.subscriptions.values()) subscription.close();
    this.subscriptions.clear();
  }

  private onRead(instance: string, outcome: ReadOutcome): void {
    if (this.stopped) return;
    try {
      if (outcome.ok) this.apply(instance, outcome.view, outcome.at);
      else if (outcome.error instanceof NotFoundError) {
        // The instance is gone: its tasks are missing, and end as such after a few reads.
        this.apply(instance, { id: -1, instanceGuid: instance, guid: null, backups: [], restores: [] }, outcome.at);
      } else throw outcome.error;
    } catch (err) {
      // A manager error, or a store that could not take the transition (locked): the next read tries again.
      const kind = err instanceof BackupManagerError ? err.kind : 'internal';
      this.options.logger.warn({ instance, kind, err: err instanceof BackupManagerError ? undefined : err }, 'poll failed');
    }
    // A task tracked after this read keeps the subscription; one that ended lets it go.
    if (this.options.store.tasks.listActive(instance).length === 0) {
      this.subscriptions.get(instance)?.close();
      this.subscriptions.delete(instance);
    }
  }

  /** Diffs the instance's active tasks against a fresh view and records each transition. */
  private apply(instance: string, view: InstanceView, now: number): void {
    const { store, logger } = this.options;
    const tasks = store.tasks.listActive(instance).filter((t) => t.parentTs !== null); // parents still on their way wait
    if (tasks.length === 0) return;
    const { transitions, missing } = diffTasks(tasks, view, now, this.missing);
    for (const id of missing) this.missing.set(id, (this.missing.get(id) ?? 0) + 1);
    for (const t of transitions) {
      this.missing.delete(t.task.id);
      this.record(t, view, now);
    }
    logger.debug({ instance, tasks: tasks.length, transitions: transitions.length }, 'polled');
  }

  private record(t: Transition, view: InstanceView, now: number): void {
    const { store, outbox, notifyChannel } = this.options;
    const { task, observed } = t;
    outbox.transaction((add) => {
      if (!store.tasks.transition(task.id, task.status, observed)) return;
      const updated = store.tasks.get(task.id);
      if (!updated) return;
      const status = observed.status;
      if (updated.parentTs) {
        // Keys name the transition (its time), not only the status: a status seen again later
        // (running → unknown → running) is a new transition whose messages must go out too.
        const at = observed.at;
        // The parent first: jobs of a channel go out in order, so the thread is never ahead of it.
        add({
          ...taskParentUpdate(task.id, status, at),
          channel: task.channel,
          method: 'chat.update',
          payload: { channel: task.channel, ts: updated.parentTs, ...renderBackupParent(updated) },
        });
        const reply = renderTransitionReply(updated, status, t.rawStatus);
        add({
          ...taskReply(task.id, status, at),
          channel: task.channel,
          method: 'chat.postMessage',
          payload: {
            channel: task.channel,
            thread_ts: updated.parentTs,
            ...reply,
            ...(status === 'failed' ? { reply_broadcast: true } : {}),
          },
        });
      }
      if (status === 'failed') {
        // Claimed here so the failure watch never announces the same failure a second time.
        const claimed = store.watch.claimFailure(task.instance, task.backupId, now);
        const threadShowsIt = updated.parentTs && notifyChannel === task.channel;
        const backup = view.backups.find((b) => b.id === task.backupId);
        if (claimed && notifyChannel && !threadShowsIt && backup) {
          add({
            ...failureNotice(task.instance, task.backupId),
            channel: notifyChannel,
            method: 'chat.postMessage',
            payload: { channel: notifyChannel, ...renderFailureNotice(task.instance, backup, now) },
          });
        }
      }
    });
  }
}
