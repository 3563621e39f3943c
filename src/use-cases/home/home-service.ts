import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { BackupManagerApi } from '../../ports/backup-manager/api';
import type { InstanceView } from '../../ports/backup-manager/schemas';
import type { Config } from '../../config';
import type { InstanceReader, ManagerHealth, Subscription } from '../../reader/instance-reader';
import type { Permalinks } from '../restores/permalinks';
import { renderHomeView } from '../../outbound/messages/home';
import type { HomeOpenerRow, Store } from '../../ports/store';
import { buildOverview, type Overview } from './overview';

/** Slack's Home tab of one person: views.publish. */
export type PublishHome = (user: string, view: ReturnType<typeof renderHomeView>) => Promise<void>;

/** At most one publish per person this often (the bound). */
export const HOME_MIN_INTERVAL_MS = 5_000;
/** Only people who opened their Home this recently get refreshes. */
export const HOME_OPENER_TTL_MS = 86_400_000;

export interface HomeServiceOptions {
  reader: Pick<InstanceReader, 'subscribe' | 'onHealth'>;
  api: Pick<BackupManagerApi, 'generation'>;
  store: Store;
  config: Pick<Config, 'watchInstances' | 'allowedInstances' | 'defaultInstance' | 'staleAfterHours' | 'notifyChannel'>;
  permalinks?: Permalinks | undefined;
  logger: Logger;
  clock?: () => number;
  publish: PublishHome;
  minIntervalMs?: number;
  openerTtlMs?: number;
  /**
   * Called on a replica that does not lead when someone opened their Home there: the opener is
   * in the store, and the leader (which alone reads and publishes) is to pick it up now.
   */
  notifyLeader?: () => void;
}

/** An opening as the store has it (or, when the store refused it, as the event told). */
interface Seen {
  channel: string | undefined;
  openedAt: number;
  opens?: number;
  publishedAt?: number | null;
}

function seenOf(row: HomeOpenerRow): Seen {
  return { channel: row.channel ?? undefined, openedAt: row.openedAt, opens: row.opens, publishedAt: row.publishedAt };
}

interface Opener {
  /** Where this person's Home buttons act: NOTIFY_CHANNEL, else their DM with the app. */
  channel: string | undefined;
  openedAt: number;
  /** The store's count of this person's openings as last taken in: another number is an opening through another replica. */
  opens: number;
  lastPublishedAt: number;
  /** The view last published, to publish only what changed. */
  lastJson: string | undefined;
  timer: NodeJS.Timeout | undefined;
  force: boolean;
  /** Opened through this replica while it led: published at once, even before its first read (as one bot always did). */
  openedHere: boolean;
}

/**
 * The App Home: the overview of every watched or allowed instance, built from the reader's
 * latest views (fed by subscriptions at the watch cadence, the same the failure watch uses, so
 * no extra reads) and the store. Published when a person opens it, and again when what it
 * shows changes, at most once per `minIntervalMs` per person and only for people who opened it
 * within `openerTtlMs`.
 *
 * Who opened it is kept in the store, so that with several replicas any of them can take the
 * event while only the leader (the one that `start()`ed: it has the reads) publishes: a
 * follower records the opener and notifies the leader, which picks it up (`pickUp()`), and a
 * new leader goes on refreshing the Homes its predecessor did.
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
  /** start() ran: this replica leads, reads and publishes. */
  private leading = false;
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
    if (this.leading || this.stopped) return;
    this.leading = true;
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
    this.sweep = setInterval(() => {
      this.forgetExpired();
      this.changed();
    }, this.minIntervalMs);
    this.sweep.unref();
    // People who opened their Home before this replica led (an earlier leader, or a restart).
    this.pickUp();
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

  /**
   * app_home_opened: recorded in the store; the leader publishes now (within the bound) and
   * keeps this person's Home fresh for a day. A follower publishes nothing: it has read nothing.
   */
  opened(user: string, dm: string | undefined): void {
    const now = this.clock();
    // A backup started from the Home is tracked where the team looks, like the failure notices.
    const channel = this.options.config.notifyChannel ?? dm;
    let row: HomeOpenerRow | undefined;
    try {
      row = this.options.store.homeOpeners.open(user, channel, now);
    } catch (err) {
      // The leader still serves this opening from memory; a follower can not hand it on.
      this.options.logger.warn({ err, user }, 'could not record who opened the Home');
    }
    if (!this.leading) {
      if (row && !this.stopped) this.options.notifyLeader?.();
      return;
    }
    this.takeIn(user, row ? seenOf(row) : { channel, openedAt: now }, true, true);
  }

  /**
   * The leader: takes in from the store who opened their Home through another replica (forced,
   * published now) or before this replica led (refreshed at the next change). Never throws: it
   * runs on a timer's round.
   */
  pickUp(): void {
    if (!this.leading || this.stopped) return;
    let rows: HomeOpenerRow[];
    try {
      rows = this.options.store.homeOpeners.since(this.clock() - this.openerTtlMs);
    } catch (err) {
      this.options.logger.warn({ err }, 'could not read who opened the Home; the next round tries again');
      return;
    }
    for (const row of rows) {
      const known = this.openers.get(row.user);
      if (known?.opens === row.opens) continue;
      // Opened and not published since: an opening this replica has not served yet.
      const unserved = row.publishedAt === null || row.publishedAt < row.openedAt;
      this.takeIn(row.user, seenOf(row), known !== undefined || unserved, false);
    }
  }

  private takeIn(user: string, seen: Seen, force: boolean, here: boolean): void {
    const known = this.openers.get(user);
    if (known) {
      known.openedAt = seen.openedAt;
      known.channel = seen.channel ?? known.channel;
      known.opens = seen.opens ?? known.opens;
      known.openedHere ||= here;
    } else {
      this.openers.set(user, {
        channel: seen.channel,
        openedAt: seen.openedAt,
        opens: seen.opens ?? 0,
        // An earlier leader's last publish: the bound per person holds across a failover.
        lastPublishedAt: seen.publishedAt ?? -Infinity,
        lastJson: undefined,
        timer: undefined,
        force: false,
        openedHere: here,
      });
    }
    this.schedule(user, force);
  }

  /**
   * Deletes from the store the people whose opening is older than the TTL (a bounded table);
   * changed(), right after it, drops them from memory with a cutoff at least as late.
   */
  private forgetExpired(): void {
    try {
      this.options.store.homeOpeners.prune(this.clock() - this.openerTtlMs);
    } catch (err) {
      this.options.logger.warn({ err }, 'could not forget old Home openers; the next sweep tries again');
    }
  }

  /** Something shown may have changed: each recent opener gets the new view if it differs. */
  changed(): void {
    if (this.stopped || !this.leading || this.openers.size === 0) return;
    const now = this.clock();
    for (const [user, o] of this.openers) {
      if (now - o.openedAt > this.openerTtlMs) {
        clearTimeout(o.timer);
        this.openers.delete(user);
      } else this.schedule(user, false);
    }
  }

  /**
   * A watched instance was read, or the manager is known to be down, or nothing is watched: the
   * overview has more than the store to show. (An 'up' from a readiness probe alone is not a read.)
   */
  private hasRead(): boolean {
    return this.latest.size > 0 || this.health?.up === false || this.options.config.watchInstances.length === 0;
  }

  private schedule(user: string, force: boolean): void {
    const o = this.openers.get(user);
    if (!o || this.stopped || !this.leading) return;
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
    // Before this replica's first read, a view of its own would say "not read yet": a Home an
    // earlier leader kept fresh, or an opening another replica took, waits for the read (it
    // stays forced). Only someone who opened it right here gets that view at once.
    if (!o.openedHere && !this.hasRead()) return;
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
    const at = this.clock();
    o.lastPublishedAt = at;
    try {
      await this.options.publish(user, view);
      this.recordPublished(user, at);
      this.events.emit('published', user);
    } catch (err) {
      // Published again at the next change.
      o.lastJson = undefined;
      this.options.logger.warn({ user, slackError: (err as { data?: { error?: string } }).data?.error ?? (err as Error).message }, 'views.publish failed');
    }
  }

  /** For a later leader's bound; a failure here costs at most one early publish after a failover. */
  private recordPublished(user: string, at: number): void {
    try {
      this.options.store.homeOpeners.published(user, at);
    } catch (err) {
      this.options.logger.warn({ err, user }, 'could not record the Home publish');
    }
  }
}
