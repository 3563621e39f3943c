import type { BackupManagerError } from '../../domain/manager-errors';
import { UnavailableError } from '../../domain/manager-errors';
import type { InstanceView } from '../../domain/backups';
import type { Deps } from '../deps';
import type { ReadOutcome, Subscription } from '../../reader/instance-reader';
import { humanDuration, isoTime } from '../../outbound/messages/format';
import { renderNotice } from '../../outbound/messages/help';
import { A9S_PG } from '../../domain/constants';
import { renderLogFollowup, renderRestoreSummary, type FollowupState } from '../../outbound/messages/restore-progress';
import type { RestoreEnd, RestoreRequest } from '../../ports/store';
import { readForgotten } from './impact';
import { laterBackupsOf, type ForgottenOf } from '../../domain/later-backups';
import { AGENT_LOG_PATH } from '../../domain/constants';
import { describeLogSource, LogWindow, openLogSource, type LogSource } from '../../outbound/log-tail';
import { findOwnRestore, RESTORE_CLOCK_SKEW_MS } from '../../domain/own-restore';
import { publishDecision } from './publish';

export interface FollowOptions {
  logFile: string | undefined;
  logCommand: string | undefined;
  /** LOG_TAIL_LABEL: what the follow-up names as its source instead of the command. */
  logLabel?: string | undefined;
  redact: (s: string) => string;
  timeoutMs: number;
  checkIntervalMs: number;
  /** Minimum spacing of edits to the follow-up message (chat.update is rate limited). */
  editIntervalMs: number;
  /** After a restart: show recent lines so the restore's own start is seen again. */
  resumed: boolean;
  /**
   * How long a restore the manager never confirmed may go without a sign of it before the
   * request ends as not started (default CONFIRM_CHECKS check intervals).
   */
  confirmWindowMs?: number;
}

export type FollowResult = { outcome: RestoreEnd; detail: string };

/** What the runner knows about the POST when following begins. */
export interface StartInfo {
  /** The manager answered the POST with a 2xx: the restore was sent, even without an id. */
  confirmed?: boolean;
  /** Restores the manager listed just before the POST: none of them is this request's. */
  knownBefore?: readonly number[];
}

/** Check intervals an unconfirmed restore gets to show itself (30 s at the default 5 s). */
export const CONFIRM_CHECKS = 6;
/** Answers from the manager, at least, before "not started" is concluded. */
const CONFIRM_MIN_READS = 3;

/** Longest wait for the log file's first look before the restore is sent anyway. */
const SOURCE_READY_MS = 2000;

/** Tolerated difference between the bot's clock and the a9s-pg VM's, for log timestamps. */
const CLOCK_SKEW_MS = RESTORE_CLOCK_SKEW_MS;

/** How long the log may lag behind the manager's own report of a service-instance restore. */
const LOG_GRACE_MS = 1500;

/**
 * Follows one running restore to its end: the log-tail follow-up message edited in place,
 * the manager's view of the restore (service instances) or its return (a9s-pg, whose restore
 * takes the manager down), a timeout, then the summary and the final state.
 */
export class FollowSession {
  private readonly window: LogWindow;
  private source: LogSource | undefined;
  private sourceReady: Promise<void> = Promise.resolve();
  private markSourceReady: () => void = () => undefined;
  private state: FollowupState;
  private logOutcome: { outcome: 'success' | 'failure'; line: string } | undefined;
  private managerSeenDown = false;
  private timers: NodeJS.Timeout[] = [];
  private editTimer: NodeJS.Timeout | undefined;
  private lastEditAt = 0;
  private edits = 0;
  private subscription: Subscription | undefined;
  private started = false;
  /** The manager's word on a service-instance restore, held while the log catches up. */
  private managerEnd: [FollowResult, FollowupState] | undefined;
  private ended = false;
  /** For a9s-pg: per instance, what the manager no longer lists after the restore. */
  private forgotten: ForgottenOf[] | undefined;
  private readonly done: Promise<FollowResult>;
  private resolveDone!: (r: FollowResult) => void;
  private readonly isPg: boolean;
  /** The restore is known to have been sent (a 2xx to the POST, or the manager lists it). */
  private confirmed = false;
  private knownBefore: ReadonlySet<number> = new Set();
  private followingSince = 0;
  /** Successful reads of the instance view while the restore was not confirmed. */
  private unconfirmedReads = 0;

  constructor(
    private readonly deps: Deps,
    private req: RestoreRequest,
    private readonly options: FollowOptions,
  ) {
    this.isPg = req.instance === A9S_PG;
    this.window = new LogWindow({
      redact: options.redact,
      outcomeAfterRestoreRequest: true,
      // The approval, not the start: after a restart startedAt is the restart's time, and the
      // restore's own lines may be older than that.
      notBefore: (req.decidedAt ?? req.startedAt ?? deps.clock()) - CLOCK_SKEW_MS,
    });
    this.state = options.logFile || options.logCommand ? 'following' : 'unconfigured';
    this.done = new Promise((r) => (this.resolveDone = r));
  }

  finished(): Promise<FollowResult> {
    return this.done;
  }

  /**
   * Starts tailing the log. Called before the restore POST, so that every line the restore
   * writes is seen and no older `success` line can be taken for this restore's. A file is
   * joined at its end, so the POST must wait for that first look (the promise; at most
   * SOURCE_READY_MS): a `POST /v1/restore` line written before it would be skipped as old,
   * and then no outcome would ever count. A command (`tail -F`) prints recent lines itself.
   */
  openSource(): Promise<void> {
    if (this.source) return this.sourceReady;
    const { deps, req, options } = this;
    let timer: NodeJS.Timeout | undefined;
    this.sourceReady = new Promise<void>((resolve) => {
      this.markSourceReady = () => {
        clearTimeout(timer);
        resolve();
      };
      timer = setTimeout(this.markSourceReady, SOURCE_READY_MS);
      timer.unref();
    });
    this.source = openLogSource(
      { file: options.logFile, command: options.logCommand },
      {
        onLines: (lines) => this.onLines(lines),
        onError: (e) => deps.logger.warn({ err: e.message, request: req.id }, 'log tail error'),
        onExit: () => {
          if (!this.ended && !this.logOutcome) {
            this.state = 'source-ended';
            this.scheduleEdit();
          }
        },
        initialLines: options.resumed ? 200 : 0,
        onReady: () => this.markSourceReady(),
      },
    );
    if (this.source?.kind !== 'file') this.markSourceReady();
    return this.sourceReady;
  }

  /** The restore has started (or, after a restart, is believed to run): follow it to its end. */
  start(note?: string, info: StartInfo = {}): void {
    this.started = true;
    const fresh = this.deps.store.restores.get(this.req.id);
    if (fresh) this.req = fresh;
    const { deps, req, options } = this;
    this.confirmed = info.confirmed === true || req.managerRestoreId !== null || req.postConfirmed;
    this.knownBefore = new Set(info.knownBefore ?? []);
    this.followingSince = deps.clock();
    if (note && req.cardTs) {
      deps.outbox.enqueue({
        key: `restore:${req.id}:note:${options.resumed ? `resumed:${deps.clock()}` : 'start'}`,
        channel: req.channel,
        method: 'chat.postMessage',
        payload: { channel: req.channel, thread_ts: req.cardTs, ...renderNotice(note) },
      });
    }
    if (req.cardTs) {
      deps.outbox.enqueue({
        key: `restore:${req.id}:followup`,
        channel: req.channel,
        method: 'chat.postMessage',
        payload: { channel: req.channel, thread_ts: req.cardTs, ...this.render() },
        ref: `restore-followup:${req.id}`,
      });
    }
    void this.openSource();
    if (this.logOutcome && !this.isPg) {
      this.endSafely(this.logResult(this.logOutcome), this.logOutcome.outcome);
      return;
    }
    // The one reader reads the instance at the active cadence while this restore is followed.
    this.subscription = deps.reader.subscribe(req.instance, 'active', (outcome) => this.onRead(outcome));
    const timeout = setTimeout(
      () =>
        this.endSafely(
          { outcome: 'unknown', detail: `No end of the restore seen within ${humanDuration(options.timeoutMs)}; whether it worked is unknown. Check it by hand.` },
          'timeout',
        ),
      Math.max(0, (req.startedAt ?? deps.clock()) + options.timeoutMs - deps.clock()),
    );
    this.timers.push(timeout);
  }

  /** Stops following without deciding anything (shutdown): a restart resumes it. */
  async stop(): Promise<void> {
    this.ended = true;
    this.markSourceReady();
    this.clearTimers();
    await this.source?.stop();
  }

  private onLines(lines: string[]): void {
    if (this.ended) return;
    this.window.push(lines);
    const decided = this.window.outcome;
    if (decided && !this.logOutcome) {
      this.logOutcome = decided;
      this.state = decided.outcome;
      // A service instance's manager stays up: the log's word is the end. For a9s-pg the
      // manager must answer again first, so the summary can say what it forgot.
      if (!this.isPg && this.started) {
        this.endSafely(this.logResult(decided), decided.outcome);
        return;
      }
    }
    this.scheduleEdit();
  }

  private logResult(o: { outcome: 'success' | 'failure'; line: string }): FollowResult {
    return { outcome: o.outcome === 'success' ? 'succeeded' : 'failed', detail: o.line };
  }

  private async onRead(outcome: ReadOutcome): Promise<void> {
    if (this.ended) return;
    if (!outcome.ok) {
      if (outcome.error instanceof UnavailableError) this.managerDown();
      else this.deps.logger.warn({ request: this.req.id, kind: (outcome.error as BackupManagerError).kind }, 'restore check failed');
      return;
    }
    const { view } = outcome;
    if (this.isPg) {
      // The manager answering again after its outage, or forgetting the newer backups,
      // means the restore has happened even when no log line said so.
      const forgotten = this.req.newerBackups.length > 0 && this.req.newerBackups.every((b) => !view.backups.some((x) => x.id === b.id));
      if (this.logOutcome || this.managerSeenDown || forgotten) await this.endPg(view);
      else if (this.window.restoreRequestSeen) this.confirmed = true;
      else this.unconfirmedRead();
    } else {
      this.checkServiceRestore(view);
    }
  }

  /**
   * The manager answered but shows no sign of a restore the bot could not confirm. Once that
   * has lasted the confirmation window, the request ends as not started: holding the
   * instance's lock for RESTORE_TIMEOUT_MS on a restore nobody sent would block everyone.
   */
  private unconfirmedRead(): void {
    if (this.confirmed) return;
    this.unconfirmedReads++;
    const window = this.options.confirmWindowMs ?? CONFIRM_CHECKS * this.options.checkIntervalMs;
    if (this.unconfirmedReads < CONFIRM_MIN_READS || this.deps.clock() - this.followingSince < window) return;
    const { req } = this;
    const since = isoTime(req.decidedAt ?? this.followingSince);
    const seen = this.isPg
      ? `the Backup Manager stayed up and no \`POST /v1/restore\` appeared in the backup-agent log since the approval (${since})`
      : `the Backup Manager lists no restore of backup ${req.backupId} started since the approval (${since})`;
    const detail =
      `The Backup Manager did not confirm it: ${seen}. Nothing was sent again. ` +
      `Before retrying, check the manager's restores of ${req.instance} and the backup-agent log (${AGENT_LOG_PATH}): a restore may still show up there.`;
    this.endSafely({ outcome: 'not_started', detail }, 'not-started');
  }

  private managerDown(): void {
    if (this.managerSeenDown || !this.isPg) return;
    this.managerSeenDown = true;
    const { req } = this;
    if (!req.cardTs) return;
    this.deps.outbox.enqueue({
      key: `restore:${req.id}:manager-down`,
      channel: req.channel,
      method: 'chat.postMessage',
      payload: {
        channel: req.channel,
        thread_ts: req.cardTs,
        ...renderNotice(':hourglass_flowing_sand: The Backup Manager is unreachable, as expected while a9s-pg is restored. I will post a summary when it answers again.'),
      },
    });
  }

  private checkServiceRestore(view: InstanceView): void {
    const { req } = this;
    const mine = findOwnRestore(view.restores, {
      backupId: req.backupId,
      managerRestoreId: req.managerRestoreId,
      approvedAt: req.decidedAt ?? req.startedAt ?? this.followingSince,
      knownBefore: this.knownBefore,
    });
    if (!mine) {
      this.unconfirmedRead();
      return;
    }
    if (req.managerRestoreId === null) {
      // Found it: from now on only this restore counts, also after a restart.
      this.deps.store.restores.setManagerRestoreId(req.id, mine.id);
      this.req = { ...req, managerRestoreId: mine.id };
    }
    this.confirmed = true;
    if (mine.status !== 'done' && mine.status !== 'failed') return;
    const ending: [FollowResult, FollowupState] =
      mine.status === 'done'
        ? [{ outcome: 'succeeded', detail: 'The Backup Manager reports the restore done.' }, 'success']
        : [{ outcome: 'failed', detail: mine.msg ?? 'The Backup Manager reports the restore failed.' }, 'failure'];
    if (!this.source || this.managerEnd) {
      this.endSafely(...ending);
      return;
    }
    // The manager can be quicker than the log reaches us: give the agent's last lines a
    // moment to arrive, so the final follow-up shows them.
    this.managerEnd = ending;
    this.timers.push(setTimeout(() => this.endSafely(...ending), LOG_GRACE_MS));
  }

  private async endPg(view: InstanceView): Promise<void> {
    const present = new Set(view.backups.map((b) => b.id));
    const gone = this.req.newerBackups.filter((b) => !present.has(b.id));
    const stillListed = this.req.newerBackups.length - gone.length;
    const parts = [this.logOutcome ? `Backup agent: ${this.logOutcome.line}` : 'No log line confirmed the outcome; the Backup Manager answers again.'];
    if (stillListed > 0) parts.push(`${stillListed} of the newer backups are still listed by the manager.`);
    const outcome = this.logOutcome?.outcome === 'failure' ? 'failed' : 'succeeded';
    this.forgotten = await readForgotten(this.deps, laterBackupsOf(this.req), { instance: this.req.instance, view });
    await this.end({ outcome, detail: parts.join(' ') }, this.logOutcome ? this.state : 'success');
  }

  /** For timers and callbacks: a failure to finish (say, a locked store) is logged; a restart resumes. */
  private endSafely(result: FollowResult, state: FollowupState): void {
    this.end(result, state).catch((err: unknown) => {
      this.deps.logger.error({ err, request: this.req.id }, 'could not finish the restore follow-up; a restart resumes it');
    });
  }

  private async end(result: FollowResult, state: FollowupState): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    this.state = state;
    this.clearTimers();
    await this.source?.stop();
    const { deps } = this;
    const now = deps.clock();
    this.edit(true);
    if (deps.store.restores.finish(this.req.id, result.outcome, result.detail, now)) {
      const finished = deps.store.restores.get(this.req.id) as RestoreRequest;
      deps.outbox.transaction((add) => {
        if (finished.cardTs) {
          add({
            key: `restore:${finished.id}:summary`,
            channel: finished.channel,
            method: 'chat.postMessage',
            payload: { channel: finished.channel, thread_ts: finished.cardTs, ...renderRestoreSummary(finished, result.outcome, result.detail, now, this.forgotten) },
          });
        }
        publishDecision(deps, finished, 'pgbackup-bot', add);
      });
    }
    this.resolveDone(result);
  }

  private render() {
    return renderLogFollowup(this.req, {
      state: this.state,
      lines: this.window.lines(),
      source: describeLogSource({ file: this.options.logFile, command: this.options.logCommand, label: this.options.logLabel }),
      reason: this.logOutcome?.line,
    });
  }

  private scheduleEdit(): void {
    if (this.editTimer || this.ended) return;
    const wait = Math.max(0, this.lastEditAt + this.options.editIntervalMs - this.deps.clock());
    this.editTimer = setTimeout(() => {
      this.editTimer = undefined;
      this.edit(false);
    }, wait);
  }

  private edit(final: boolean): void {
    const fresh = this.deps.store.restores.get(this.req.id);
    if (fresh) this.req = fresh;
    const ts = this.req.followupTs;
    if (!ts) {
      if (!final) this.scheduleEditLater();
      else this.deferFinalEdit();
      return;
    }
    this.lastEditAt = this.deps.clock();
    this.edits++;
    this.deps.outbox.enqueue({
      key: `restore:${this.req.id}:followup:edit:${final ? 'final' : `${this.lastEditAt}-${this.edits}`}`,
      channel: this.req.channel,
      method: 'chat.update',
      payload: { channel: this.req.channel, ts, ...this.render() },
    });
  }

  private scheduleEditLater(): void {
    if (this.ended) return;
    this.editTimer = setTimeout(() => {
      this.editTimer = undefined;
      this.edit(false);
    }, this.options.editIntervalMs);
  }

  /** The follow-up post is still queued: edit it once Slack has given it a ts. */
  private deferFinalEdit(): void {
    const job = this.deps.store.outbox.byKey(`restore:${this.req.id}:followup`);
    if (!job || job.state !== 'pending') return;
    void this.deps.outbox.settled(job.id).then(() => this.edit(true));
  }

  private clearTimers(): void {
    this.subscription?.close();
    this.subscription = undefined;
    for (const t of this.timers) clearTimeout(t);
    this.timers = [];
    clearTimeout(this.editTimer);
    this.editTimer = undefined;
  }
}
