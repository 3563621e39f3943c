import type { Logger } from 'pino';
import type { BackupManagerApi } from '../backup-manager/api';
import { BackupManagerError, NotFoundError } from '../backup-manager/errors';
import type { InstanceView } from '../backup-manager/schemas';
import type { Outbox } from '../slack/outbox';
import { renderBackupParent, renderTransitionReply } from '../slack/messages/backup-task';
import { renderFailureNotice } from '../slack/messages/watch';
import type { Store } from '../store';
import { diffTasks, type Transition } from './transitions';

export interface PollerOptions {
  api: BackupManagerApi;
  store: Store;
  outbox: Outbox;
  logger: Logger;
  clock?: () => number;
  intervalMs: number;
  notifyChannel: string | undefined;
  /** Cap of the backoff while the manager is unreachable. */
  maxBackoffMs?: number;
  random?: () => number;
}

interface Loop {
  timer: NodeJS.Timeout | undefined;
  failures: number;
  busy: boolean;
}

/**
 * Follows tracked backups: one GET per active instance per interval, however many tasks
 * are active there. The only writer of task status; each change becomes outbox jobs in the
 * same transaction, so a restart neither loses nor repeats a transition.
 */
export class Poller {
  private readonly loops = new Map<string, Loop>();
  private readonly missing = new Map<number, number>();
  private readonly clock: () => number;
  private stopped = false;

  constructor(private readonly options: PollerOptions) {
    this.clock = options.clock ?? Date.now;
  }

  /** Resumes polling for whatever the store says is still active (after a restart). */
  start(): void {
    for (const instance of this.options.store.tasks.activeInstances()) this.wake(instance);
  }

  /** Makes sure the instance is polled; cheap to call again. */
  wake(instance: string, delayMs = this.options.intervalMs): void {
    if (this.stopped) return;
    const loop = this.loops.get(instance);
    if (loop) return;
    const fresh: Loop = { timer: undefined, failures: 0, busy: false };
    this.loops.set(instance, fresh);
    this.scheduleNext(instance, fresh, delayMs);
  }

  polledInstances(): string[] {
    return [...this.loops.keys()];
  }

  stop(): void {
    this.stopped = true;
    for (const loop of this.loops.values()) clearTimeout(loop.timer);
    this.loops.clear();
  }

  /** One poll of one instance; returns whether it still has active tasks. */
  async tick(instance: string): Promise<boolean> {
    const { api, store, logger } = this.options;
    const all = store.tasks.listActive(instance);
    if (all.length === 0) return false;
    const tasks = all.filter((t) => t.parentTs !== null);
    if (tasks.length === 0) return true; // parent messages still on their way
    let view: InstanceView;
    try {
      view = await api.getInstance(instance, { retry: false });
    } catch (err) {
      if (err instanceof NotFoundError) {
        view = { id: -1, instanceGuid: instance, guid: null, backups: [], restores: [] };
      } else {
        throw err;
      }
    }
    const now = this.clock();
    const { transitions, missing } = diffTasks(tasks, view, now, this.missing);
    for (const id of missing) this.missing.set(id, (this.missing.get(id) ?? 0) + 1);
    for (const t of transitions) {
      this.missing.delete(t.task.id);
      this.apply(t, view, now);
    }
    logger.debug({ instance, tasks: tasks.length, transitions: transitions.length }, 'polled');
    return store.tasks.listActive(instance).length > 0;
  }

  private apply(t: Transition, view: InstanceView, now: number): void {
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
          key: `task:${task.id}:parent:${status}@${at}`,
          channel: task.channel,
          method: 'chat.update',
          payload: { channel: task.channel, ts: updated.parentTs, ...renderBackupParent(updated) },
        });
        const reply = renderTransitionReply(updated, status, t.rawStatus);
        add({
          key: `task:${task.id}:reply:${status}@${at}`,
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
            key: `failure:${task.instance}:${task.backupId}`,
            channel: notifyChannel,
            method: 'chat.postMessage',
            payload: { channel: notifyChannel, ...renderFailureNotice(task.instance, backup, now) },
          });
        }
      }
    });
  }

  private scheduleNext(instance: string, loop: Loop, delayMs: number): void {
    loop.timer = setTimeout(() => void this.run(instance, loop), delayMs);
    loop.timer.unref?.();
  }

  private async run(instance: string, loop: Loop): Promise<void> {
    if (this.stopped || loop.busy) return;
    loop.busy = true;
    let active = true;
    let delay = this.options.intervalMs;
    try {
      active = await this.tick(instance);
      loop.failures = 0;
    } catch (err) {
      loop.failures++;
      const cap = this.options.maxBackoffMs ?? 60_000;
      const backoff = Math.min(cap, this.options.intervalMs * 2 ** Math.min(loop.failures, 10));
      delay = Math.round(backoff * (0.5 + (this.options.random ?? Math.random)() / 2));
      const kind = err instanceof BackupManagerError ? err.kind : 'internal';
      this.options.logger.warn({ instance, kind, failures: loop.failures, retryInMs: delay, err: err instanceof BackupManagerError ? undefined : err }, 'poll failed');
    } finally {
      loop.busy = false;
    }
    if (this.stopped) return;
    // A task tracked while this tick was in flight must not be left without a loop.
    if (!active) active = this.options.store.tasks.listActive(instance).length > 0;
    if (active) this.scheduleNext(instance, loop, delay);
    else this.loops.delete(instance);
  }
}
