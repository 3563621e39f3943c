import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { BackupManagerApi } from '../../ports/backup-manager/api';
import type { Backup, InstanceView } from '../../ports/backup-manager/schemas';
import type { InstanceReader, Subscription } from '../../reader/instance-reader';
import type { Outbox } from '../../outbound/slack/outbox';
import { renderFreshNotice, renderStaleNotice, type ScheduleNote } from '../../outbound/messages/staleness';
import type { Store } from '../../ports/store';

export const HOUR_MS = 3_600_000;

export interface StalenessInput {
  backups: readonly Backup[];
  now: number;
  staleAfterMs: number;
  /** When the instance was first read: the reference while it has no good backup at all. */
  firstSeenAt: number;
  /** Start of the stale spell already announced; null while fresh. */
  staleSince: number | null;
}

export interface StalenessDecision {
  /** The newest `done` backup with a known time, if any. */
  lastGood: Backup | null;
  lastSuccessAt: number | null;
  stale: boolean;
  /** What to announce: the start of a stale spell, its end, or nothing. */
  change: 'stale' | 'recovered' | null;
}

/** When a backup was taken: its task's creation (the data's point in time), else its last update. */
export function takenAt(backup: Backup): number | null {
  for (const iso of [backup.task?.createdAt, backup.task?.updatedAt]) {
    const t = iso ? Date.parse(iso) : NaN;
    if (!Number.isNaN(t)) return t;
  }
  return null;
}

/**
 * Whether an instance is stale: its newest `done` backup is older than `staleAfterMs`, or it
 * has none and has been watched that long (an instance created an hour ago is not overdue).
 * A done backup without any time can not prove freshness and is not counted.
 */
export function decideStaleness(input: StalenessInput): StalenessDecision {
  let lastGood: Backup | null = null;
  let lastSuccessAt: number | null = null;
  for (const backup of input.backups) {
    if (backup.status !== 'done') continue;
    const at = takenAt(backup);
    if (at === null) continue;
    if (lastSuccessAt === null || at > lastSuccessAt || (at === lastSuccessAt && lastGood !== null && backup.id > lastGood.id)) {
      lastGood = backup;
      lastSuccessAt = at;
    }
  }
  const stale = input.now - (lastSuccessAt ?? input.firstSeenAt) > input.staleAfterMs;
  const change = stale && input.staleSince === null ? 'stale' : !stale && input.staleSince !== null ? 'recovered' : null;
  return { lastGood, lastSuccessAt, stale, change };
}

export interface StalenessWatchOptions {
  reader: InstanceReader;
  api: BackupManagerApi;
  store: Store;
  outbox: Outbox;
  logger: Logger;
  instances: readonly string[];
  staleAfterHours: number;
  notifyChannel: string | undefined;
  clock?: () => number;
}

/**
 * The staleness alarm: decides from the reads the failure watch already causes (it subscribes
 * to the same instances at the watch cadence, so the reader reads nothing more) and announces
 * a stale spell once and its end once. The state lives in the store, so a restart repeats
 * neither; the state change and its message are one transaction.
 */
export class StalenessWatch {
  private subscriptions: Subscription[] = [];
  private readonly clock: () => number;
  /** 'checked' after each read is decided (and its notice, if any, queued): tests await it. */
  readonly events = new EventEmitter<{ checked: [instance: string] }>();

  constructor(private readonly options: StalenessWatchOptions) {
    this.clock = options.clock ?? Date.now;
  }

  start(): void {
    if (this.subscriptions.length > 0) return;
    this.subscriptions = this.options.instances.map((instance) =>
      this.options.reader.subscribe(instance, 'watch', (outcome) => (outcome.ok ? this.check(instance, outcome.view) : undefined)),
    );
  }

  stop(): void {
    for (const subscription of this.subscriptions) subscription.close();
    this.subscriptions = [];
  }

  /** Watched instances whose stale spell is announced and not over. */
  staleCount(): number {
    const watched = new Set(this.options.instances);
    return this.options.store.staleness.all().filter((r) => watched.has(r.instance) && r.staleSince !== null).length;
  }

  /** The newest good backup's time per watched instance, where one was seen. */
  lastSuccesses(): Array<{ instance: string; at: number }> {
    const watched = new Set(this.options.instances);
    return this.options.store.staleness
      .all()
      .filter((r) => watched.has(r.instance) && r.lastSuccessAt !== null)
      .map((r) => ({ instance: r.instance, at: r.lastSuccessAt as number }));
  }

  async check(instance: string, view: InstanceView): Promise<void> {
    try {
      await this.decide(instance, view);
    } finally {
      this.events.emit('checked', instance);
    }
  }

  private async decide(instance: string, view: InstanceView): Promise<void> {
    const { store, outbox, notifyChannel } = this.options;
    const now = this.clock();
    const row = store.staleness.see(instance, now);
    const staleAfterMs = this.options.staleAfterHours * HOUR_MS;
    const decision = decideStaleness({ backups: view.backups, now, staleAfterMs, firstSeenAt: row.firstSeenAt, staleSince: row.staleSince });
    if (decision.lastSuccessAt !== row.lastSuccessAt) store.staleness.setLastSuccess(instance, decision.lastSuccessAt);
    if (decision.change === 'stale') {
      // Asked only when there is something to announce: one config read per notice.
      const schedule = await this.scheduleNote(instance);
      outbox.transaction((add) => {
        if (!store.staleness.claimStale(instance, now) || !notifyChannel) return;
        add({
          key: `stale:${instance}:${now}`,
          channel: notifyChannel,
          method: 'chat.postMessage',
          payload: {
            channel: notifyChannel,
            ...renderStaleNotice({ instance, lastGood: decision.lastGood, lastSuccessAt: decision.lastSuccessAt, firstSeenAt: row.firstSeenAt, now, staleAfterHours: this.options.staleAfterHours, schedule }),
          },
        });
      });
    } else if (decision.change === 'recovered') {
      const since = row.staleSince as number;
      const { lastGood, lastSuccessAt } = decision;
      outbox.transaction((add) => {
        // No good backup yet fresh: STALE_AFTER_HOURS was raised; the spell ends without a notice.
        if (!store.staleness.claimFresh(instance) || !notifyChannel || !lastGood || lastSuccessAt === null) return;
        add({
          key: `stale-recovered:${instance}:${since}`,
          channel: notifyChannel,
          method: 'chat.postMessage',
          payload: { channel: notifyChannel, ...renderFreshNotice({ instance, backup: lastGood, takenAt: lastSuccessAt, staleSince: since, now }) },
        });
      });
    }
  }

  private async scheduleNote(instance: string): Promise<ScheduleNote | undefined> {
    const { api, logger } = this.options;
    if (!api.getConfig) return undefined;
    try {
      const config = await api.getConfig(instance, { retry: false });
      if (!config.available) return undefined;
      return { excluded: config.value.excludedFromScheduledBackups, retentionDays: config.value.retentionDays };
    } catch (err) {
      // The notice matters more than its footnote: it goes out without it.
      logger.warn({ instance, err: { name: (err as Error).name, message: (err as Error).message } }, 'staleness: could not read the instance config');
      return undefined;
    }
  }
}
