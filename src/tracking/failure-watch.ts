import type { Logger } from 'pino';
import type { BackupManagerApi } from '../backup-manager/api';
import { UnavailableError } from '../backup-manager/errors';
import type { Outbox } from '../slack/outbox';
import { renderFailureNotice, renderOutageNotice, renderRecoveryNotice } from '../slack/messages/watch';
import type { Store } from '../store';

export interface FailureWatchOptions {
  api: BackupManagerApi;
  store: Store;
  outbox: Outbox;
  logger: Logger;
  instances: readonly string[];
  intervalMs: number;
  notifyChannel: string | undefined;
  clock?: () => number;
  /** True while an outage is expected (a restore of a9s-pg): then it is not announced here. */
  outageExpected: () => boolean;
}

/** The manager as a whole: an outage is announced once, not once per watched instance. */
const MANAGER = '*backup-manager*';
/** Intervals of silence before an outage is worth waking someone for. */
export const OUTAGE_INTERVALS = 3;

/**
 * Reads every watched instance each interval and announces, once, each backup that turned
 * `failed` — scheduled backups too, which nobody asked the bot for. Failures already there at
 * first sight are history and stay quiet.
 */
export class FailureWatch {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private readonly clock: () => number;

  constructor(private readonly options: FailureWatchOptions) {
    this.clock = options.clock ?? Date.now;
  }

  start(): void {
    if (this.timer || this.options.instances.length === 0) return;
    this.timer = setInterval(() => void this.tickOnce(), this.options.intervalMs);
    this.timer.unref?.();
    void this.tickOnce();
  }

  stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    return this.running ?? Promise.resolve();
  }

  /** One round over the watched instances; overlapping rounds are skipped, not queued. */
  tickOnce(): Promise<void> {
    if (this.running) return this.running;
    this.running = this.round().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async round(): Promise<void> {
    for (const instance of this.options.instances) {
      try {
        await this.check(instance);
        this.reachable();
      } catch (err) {
        if (err instanceof UnavailableError) {
          this.unreachable();
          return; // the manager is down for all instances alike
        }
        this.options.logger.warn({ instance, err: { name: (err as Error).name, message: (err as Error).message } }, 'failure watch could not read instance');
      }
    }
  }

  private async check(instance: string): Promise<void> {
    const { api, store, outbox, notifyChannel } = this.options;
    const view = await api.getInstance(instance, { retry: false });
    const now = this.clock();
    const failed = view.backups.filter((b) => b.status === 'failed');
    if (store.watch.firstSight(instance, failed.map((b) => b.id), now)) return;
    for (const backup of failed) {
      outbox.transaction((add) => {
        if (!store.watch.claimFailure(instance, backup.id, now) || !notifyChannel) return;
        add({
          key: `failure:${instance}:${backup.id}`,
          channel: notifyChannel,
          method: 'chat.postMessage',
          payload: { channel: notifyChannel, ...renderFailureNotice(instance, backup, now) },
        });
      });
    }
  }

  private unreachable(): void {
    const { store, outbox, notifyChannel, intervalMs } = this.options;
    const now = this.clock();
    store.watch.firstSight(MANAGER, [], now);
    store.watch.markUnreachable(MANAGER, now);
    const since = store.watch.get(MANAGER)?.unreachableSince ?? now;
    if (now - since < OUTAGE_INTERVALS * intervalMs || this.options.outageExpected()) return;
    outbox.transaction((add) => {
      if (!store.watch.claimOutageAnnouncement(MANAGER) || !notifyChannel) return;
      add({
        key: `outage:${since}`,
        channel: notifyChannel,
        method: 'chat.postMessage',
        payload: { channel: notifyChannel, ...renderOutageNotice(this.options.instances.join(', '), since, now) },
      });
    });
  }

  private reachable(): void {
    const { store, outbox, notifyChannel } = this.options;
    const since = store.watch.get(MANAGER)?.unreachableSince;
    if (since === null || since === undefined) return;
    const now = this.clock();
    outbox.transaction((add) => {
      if (!store.watch.markReachable(MANAGER) || !notifyChannel) return;
      add({
        key: `recovery:${since}`,
        channel: notifyChannel,
        method: 'chat.postMessage',
        payload: { channel: notifyChannel, ...renderRecoveryNotice(this.options.instances.join(', '), since, now) },
      });
    });
  }
}
