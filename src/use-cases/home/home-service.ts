import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { BackupManagerApi } from '../../ports/backup-manager/api';
import type { InstanceView } from '../../ports/backup-manager/schemas';
import type { Config } from '../../config';
import type { InstanceReader, ManagerHealth, Subscription } from '../../reader/instance-reader';
import type { Permalinks } from '../restores/permalinks';
import { renderHomeView } from '../../outbound/messages/home';
import type { Store } from '../../ports/store';
import { buildOverview, type Overview } from './overview';

/** Slack's Home tab of one person: views.publish. */
export type PublishHome = (user: string, view: ReturnType<typeof renderHomeView>) => Promise<void>;

/** At most one publish per person this often (the bound). */
export const HOME_MIN_INTERVAL_MS = 5_000;
/** Only people who opened their Home this recently get refreshes. */
export const HOME_OPENER_TTL_MS = 86_400_000;

export interface HomeServiceOptions {
  reader: InstanceReader;
  api: BackupManagerApi;
  store: Store;
  config: Pick<Config, 'watchInstances' | 'allowedInstances' | 'defaultInstance' | 'staleAfterHours' | 'notifyChannel'>;
  permalinks?: Permalinks | undefined;
  logger: Logger;
  clock?: () => number;
  publish: PublishHome;
  minIntervalMs?: number;
  openerTtlMs?: number;
}

interface Opener {
  /** Where this person's Home buttons act: NOTIFY_CHANNEL, else their DM with the app. */
  channel: string | undefined;
  openedAt: number;
  lastPublishedAt: number;
  /** The view last published, to publish only what changed. */
  lastJson: string | undefined;
  timer: NodeJS.Timeout | undefined;
  force: boolean;
}

/**
 * The App Home: the overview of every watched or allowed instance, built from the reader's
 * latest views (fed by subscriptions at the watch cadence, the same the failure watch uses, so
 * no extra reads) and the store. Published when a person opens it, and again when what it
 * shows changes, at most once per `minIntervalMs` per person and only for people who opened it
 * within `openerTtlMs`.
 */
export class HomeService {
  private readonly latest = new Map<string, { view: InstanceView; at: number }>();
  private readonly openers = new Map<string, Opener>();
  private subscriptions: Subscription[] = [];
  private unhealth: (() => void) | undefined;
  private sweep: NodeJS.Timeout | undefined;
  private health: ManagerHealth | undefined;
  private readonly clock: () => number;
  private readonly minIntervalMs: number;
  private readonly openerTtlMs: number;
  private stopped = false;
  /** 'published' after each views.publish Slack accepted; 'read' after each read is taken in (tests await them). */
  readonly events = new EventEmitter<{ published: [user: string]; read: [instance: string] }>();

  constructor(private readonly options: HomeServiceOptions) {
    this.clock = options.clock ?? Date.now;
    this.minIntervalMs = options.minIntervalMs ?? HOME_MIN_INTERVAL_MS;
    this.openerTtlMs = options.openerTtlMs ?? HOME_OPENER_TTL_MS;
  }

  /** Watched instances first, then the allowed ones (or the default when all are allowed). */
  instances(): string[] {
    const { watchInstances, allowedInstances, defaultInstance } = this.options.config;
    return [...new Set([...watchInstances, ...(allowedInstances.length > 0 ? allowedInstances : [defaultInstance])])];
  }

  start(): void {
    if (this.subscriptions.length > 0) return;
    const { reader } = this.options;
    this.subscriptions = this.options.config.watchInstances.map((instance) =>
      reader.subscribe(instance, 'watch', (outcome) => {
        if (!outcome.ok) return;
        this.latest.set(instance, { view: outcome.view, at: outcome.at });
        // The reader tells only changes of health; an answer is news while nothing was known.
        if (this.health === undefined) this.health = { up: true, at: outcome.at };
        this.changed();
        this.events.emit('read', instance);
      }),
    );
    this.unhealth = reader.onHealth((health) => {
      this.health = health;
      this.changed();
    });
    // Restore requests and tracked tasks change in the store, not in a read: looked at as
    // often as the bound allows, while someone has the Home open (no manager reads).
    this.sweep = setInterval(() => this.changed(), this.minIntervalMs);
    this.sweep.unref();
  }

  stop(): void {
    this.stopped = true;
    for (const s of this.subscriptions) s.close();
    this.subscriptions = [];
    this.unhealth?.();
    clearInterval(this.sweep);
    for (const o of this.openers.values()) clearTimeout(o.timer);
  }

  overview(): Overview {
    const { store, api, permalinks, config } = this.options;
    const requests = [...store.restores.inState('pending'), ...store.restores.inState('approved'), ...store.restores.inState('running')];
    return buildOverview({
      instances: this.instances(),
      watched: new Set(config.watchInstances),
      latest: this.latest,
      health: this.health,
      generation: api.generation?.() ?? 'unknown',
      staleAfterHours: config.staleAfterHours,
      staleness: store.staleness.all(),
      activeTasks: store.tasks.listActive(),
      requests,
      now: this.clock(),
      link: (channel, ts) => {
        const known = permalinks?.get(channel, ts);
        if (!known) permalinks?.request(channel, ts, () => this.changed());
        return known;
      },
    });
  }

  /** app_home_opened: publish now (within the bound) and keep this person's Home fresh for a day. */
  opened(user: string, dm: string | undefined): void {
    const now = this.clock();
    // A backup started from the Home is tracked where the team looks, like the failure notices.
    const channel = this.options.config.notifyChannel ?? dm;
    const known = this.openers.get(user);
    if (known) {
      known.openedAt = now;
      known.channel = channel ?? known.channel;
    } else this.openers.set(user, { channel, openedAt: now, lastPublishedAt: -Infinity, lastJson: undefined, timer: undefined, force: false });
    this.schedule(user, true);
  }

  /** Something shown may have changed: each recent opener gets the new view if it differs. */
  changed(): void {
    if (this.stopped || this.openers.size === 0) return;
    const now = this.clock();
    for (const [user, o] of this.openers) {
      if (now - o.openedAt > this.openerTtlMs) {
        clearTimeout(o.timer);
        this.openers.delete(user);
      } else this.schedule(user, false);
    }
  }

  private schedule(user: string, force: boolean): void {
    const o = this.openers.get(user);
    if (!o || this.stopped) return;
    o.force ||= force;
    // A trailing publish is already due: it renders the newest state when it runs.
    if (o.timer) return;
    const wait = o.lastPublishedAt + this.minIntervalMs - this.clock();
    if (wait > 0) {
      o.timer = setTimeout(() => {
        o.timer = undefined;
        void this.publish(user);
      }, wait);
      o.timer.unref();
    } else void this.publish(user);
  }

  private async publish(user: string): Promise<void> {
    const o = this.openers.get(user);
    if (!o || this.stopped) return;
    let view: ReturnType<typeof renderHomeView>;
    try {
      view = renderHomeView(this.overview(), o.channel);
    } catch (err) {
      this.options.logger.warn({ err }, 'could not build the Home overview');
      return;
    }
    const json = JSON.stringify(view);
    if (!o.force && json === o.lastJson) return;
    o.force = false;
    o.lastJson = json;
    o.lastPublishedAt = this.clock();
    try {
      await this.options.publish(user, view);
      this.events.emit('published', user);
    } catch (err) {
      // Published again at the next change.
      o.lastJson = undefined;
      this.options.logger.warn({ user, slackError: (err as { data?: { error?: string } }).data?.error ?? (err as Error).message }, 'views.publish failed');
    }
  }
}
