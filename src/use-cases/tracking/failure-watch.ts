import type { Logger } from 'pino';
import type { InstanceView } from '../../domain/backups';
import type { InstanceReader, ManagerHealth, Subscription } from '../../reader/instance-reader';
import type { Outbox } from '../../outbound/slack/outbox';
import { renderFailureNotice, renderOutageNotice, renderRecoveryNotice } from '../../outbound/messages/watch';
import type { Store } from '../../ports/store';
import { failureNotice, outageNotice, recoveryNotice } from '../../domain/message-keys';

export interface FailureWatchOptions {
  reader: InstanceReader;
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
 * Announces, once, each backup of a watched instance that turned `failed` — scheduled backups
 * too, which nobody asked the bot for — from what the instance reader reads at the watch
 * cadence. Failures already there at first sight are history and stay quiet. The manager's
 * outage and recovery come from the reader's health, once for all instances.
 */
export class FailureWatch {
  private subscriptions: Subscription[] = [];
  private unhealth: (() => void) | undefined;
  private readonly clock: () => number;

  constructor(private readonly options: FailureWatchOptions) {
    this.clock = options.clock ?? Date.now;
  }

  start(): void {
    const { reader, instances, logger } = this.options;
    if (this.subscriptions.length > 0 || instances.length === 0) return;
    this.subscriptions = instances.map((instance) =>
      reader.subscribe(instance, 'watch', (outcome) => {
        if (outcome.ok) this.check(instance, outcome.view);
        else if (!reader.managerDown()) {
          logger.warn({ instance, err: { name: (outcome.error as Error).name, message: (outcome.error as Error).message } }, 'failure watch could not read instance');
        }
      }),
    );
    this.unhealth = reader.onHealth((health) => this.onHealth(health));
  }

  stop(): Promise<void> {
    for (const subscription of this.subscriptions) subscription.close();
    this.subscriptions = [];
    this.unhealth?.();
    this.unhealth = undefined;
    return Promise.resolve();
  }

  /** Reads every watched instance now (tests, and whoever must not wait for the next interval). */
  async tickOnce(): Promise<void> {
    for (const instance of this.options.instances) {
      try {
        this.check(instance, await this.options.reader.readNow(instance, { retry: false }));
      } catch {
        // Reported through the reader's health (an outage) or logged by the subscription.
      }
    }
  }

  private onHealth(health: ManagerHealth): void {
    if (health.up) this.reachable();
    else this.unreachable(health.at);
  }

  private check(instance: string, view: InstanceView): void {
    const { store, outbox, notifyChannel } = this.options;
    const now = this.clock();
    const failed = view.backups.filter((b) => b.status === 'failed');
    if (store.watch.firstSight(instance, failed.map((b) => b.id), now)) return;
    for (const backup of failed) {
      outbox.transaction((add) => {
        if (!store.watch.claimFailure(instance, backup.id, now) || !notifyChannel) return;
        add({
          ...failureNotice(instance, backup.id),
          channel: notifyChannel,
          method: 'chat.postMessage',
          payload: { channel: notifyChannel, ...renderFailureNotice(instance, backup, now) },
        });
      });
    }
  }

  private unreachable(now: number): void {
    const { store, outbox, notifyChannel, intervalMs } = this.options;
    store.watch.firstSight(MANAGER, [], now);
    store.watch.markUnreachable(MANAGER, now);
    const since = store.watch.get(MANAGER)?.unreachableSince ?? now;
    if (now - since < OUTAGE_INTERVALS * intervalMs || this.options.outageExpected()) return;
    outbox.transaction((add) => {
      if (!store.watch.claimOutageAnnouncement(MANAGER) || !notifyChannel) return;
      add({
        ...outageNotice(since),
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
        ...recoveryNotice(since),
        channel: notifyChannel,
        method: 'chat.postMessage',
        payload: { channel: notifyChannel, ...renderRecoveryNotice(this.options.instances.join(', '), since, now) },
      });
    });
  }
}
