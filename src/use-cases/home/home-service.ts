import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { BackupManagerApi } from '../../ports/backup-manager/api';
import type { InstanceView } from '../../ports/backup-manager/schemas';
import type { Config } from '../../config';
import type { InstanceReader, ManagerHealth, Subscription } from '../../reader/instance-reader';
import type { Permalinks } from '../restores/permalinks';
import { renderHomeView } from '../../outbound/messages/home';
import type { HomeOpenerRow, Store, StoredHealth } from '../../ports/store';
import { buildOverview, lateAfterMs, type Overview } from './overview';

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
  config: Pick<Config, 'watchInstances' | 'allowedInstances' | 'defaultInstance' | 'staleAfterHours' | 'notifyChannel' | 'watchIntervalMs'>;
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
 * The App Home: the overview of every watched or allowed instance, built from the store: the
 * leader's latest reads (fed by subscriptions at the watch cadence, the same the failure watch
 * uses, so no extra reads; each one written to the store, so that a follower asked for
 * `/pgbackup status` shows what the leader read, and when) and the rest of the store. Published when a person opens it, and again when what it
 * shows changes, at most once per `minIntervalMs` per person and only for people who opened it
 * within `openerTtlMs`.
 *
 * Who opened it is kept in the store, so that with several replicas any of them can take the
 * event while only the leader (the one that `start()`ed: it has the reads) publishes: a
 * follower records the opener and notifies the leader, which picks it up (`pickUp()`), and a
 * new leader goes on refreshing the Homes its predecessor did.
 */
export class HomeService {
  /** This replica read a watched instance since it leads (the store may hold an earlier leader's reads). */
  private readHere = false;
  private readonly openers = new Map<string, Opener>();
  private subscriptions: Subscription[] = [];
  private unhealth: (() => void) | undefined;
  private sweep: NodeJS.Timeout | undefined;
  private health: ManagerHealth | undefined;
  /** The store has `health` (a failed write is tried again at the next read). */
  private healthStored = false;
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
    // Reads of instances no longer watched (the config changed) are shown nowhere: a bounded table.
    try {
      this.options.store.reads.keepOnly(this.options.config.watchInstances);
    } catch (err) {
      this.options.logger.warn({ err }, 'could not forget the reads of instances no longer watched');
    }
    this.subscriptions = this.options.config.watchInstances.map((instance) =>
      reader.subscribe(instance, 'watch', (outcome) => {
        if (!outcome.ok) return;
        this.readHere = true;
        this.record(instance, outcome.view, outcome.at);
        // The reader tells only changes of health; an answer is news while nothing was known.
        if (this.health === undefined) this.setHealth({ up: true, at: outcome.at });
        else if (!this.healthStored) this.setHealth(this.health);
        this.changed();
        this.events.emit('read', instance);
      }),
    );
    this.unhealth = reader.onHealth((health) => {
      this.setHealth(health);
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

  /**
   * Built from the store on every replica alike: the leader's reads as recorded, with their
   * read times (a follower whose leader is gone shows how old they are). Throws when the store
   * can not be read, like the rest of the overview.
   */
  overview(): Overview {
    const { store, api, permalinks, config } = this.options;
    const requests = [...store.restores.inState('pending'), ...store.restores.inState('approved'), ...store.restores.inState('running')];
    const watched = new Set(config.watchInstances);
    return buildOverview({
      instances: this.instances(),
      watched,
      latest: this.storedReads(watched),
      health: store.reads.health(),
      generation: api.generation?.() ?? 'unknown',
      staleAfterHours: config.staleAfterHours,
      staleness: store.staleness.all(),
      activeTasks: store.tasks.listActive(),
      requests,
      now: this.clock(),
      lateAfterMs: lateAfterMs(config.watchIntervalMs),
      link: (channel, ts) => {
        const known = permalinks?.get(channel, ts);
        if (!known) permalinks?.request(channel, ts, () => this.changed());
        return known;
      },
    });
  }

  /** Rows of instances no longer watched are left-overs, not reads; a row the schema refuses is not read. */
  private storedReads(watched: ReadonlySet<string>): Map<string, { view: InstanceView; at: number }> {
    const latest = new Map<string, { view: InstanceView; at: number }>();
    for (const row of this.options.store.reads.all()) {
      if (!watched.has(row.instance)) continue;
      if (row.view) latest.set(row.instance, { view: row.view, at: row.at });
      else this.warnUnreadable(row.instance, row.at);
    }
    return latest;
  }

  /** Once per row written: the overview is built for every publish. */
  private readonly unreadable = new Map<string, number>();
  private warnUnreadable(instance: string, at: number): void {
    if (this.unreadable.get(instance) === at) return;
    this.unreadable.set(instance, at);
    this.options.logger.warn({ instance, readAt: at }, 'the stored read of an instance does not pass the schema; shown as not read');
  }

  /** One upsert per read; a failed one leaves the previous read shown (with its time) and is tried again at the next read. */
  private record(instance: string, view: InstanceView, at: number): void {
    try {
      this.options.store.reads.put(instance, view, at);
    } catch (err) {
      this.options.logger.warn({ err, instance }, 'could not record the read for the overview');
    }
  }

  /** Kept here (what this leader knows) and in the store (what every replica shows), at each change only. */
  private setHealth(health: ManagerHealth): void {
    this.health = health;
    const stored: StoredHealth = health.up ? { up: true, since: health.at } : { up: false, since: health.since };
    this.healthStored = false;
    try {
      this.options.store.reads.putHealth(stored);
      this.healthStored = true;
    } catch (err) {
      this.options.logger.warn({ err }, 'could not record the manager health for the overview');
    }
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
    return this.readHere || this.health?.up === false || this.options.config.watchInstances.length === 0;
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
