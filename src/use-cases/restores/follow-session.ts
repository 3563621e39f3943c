import { UnavailableError, type BackupManagerError } from '../../domain/manager-errors';
import { restoreManagerDown, restoreNote, restoreSummary, type MessageId } from '../../domain/message-keys';
import type { InstanceView } from '../../domain/backups';
import type { Deps } from '../deps';
import type { ReadOutcome, Subscription } from '../../reader/instance-reader';
import { humanDuration, isoTime } from '../../outbound/messages/format';
import { renderNotice } from '../../outbound/messages/help';
import { A9S_PG } from '../../domain/constants';
import { renderRestoreSummary } from '../../outbound/messages/restore-progress';
import type { RestoreEnd, RestoreRequest } from '../../domain/restore-request';
import { readForgotten } from './impact';
import { laterBackupsOf, type ForgottenOf } from '../../domain/later-backups';
import { describeLogSource, LogWindow, openLogSource, type LogSource } from '../../outbound/log-tail';
import { RESTORE_CLOCK_SKEW_MS } from '../../domain/own-restore';
import { decideRestore, type FollowProgress, type LogVerdict, type RestoreEnding, type RestoreFacts } from '../../domain/restore-outcome';
import { FollowupMessage } from './followup-message';
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

/** Longest wait for the log file's first look before the restore is sent anyway. */
const SOURCE_READY_MS = 2000;

/** How long the log may lag behind the manager's own report of a service-instance restore. */
const LOG_GRACE_MS = 1500;

/**
 * Follows one running restore to its end: wires the agent log into the follow-up message,
 * the instance reader's answers and a timeout into the outcome decision (domain/
 * restore-outcome), and finishes the request as it decides: state, summary, audit.
 */
export class FollowSession {
  private readonly window: LogWindow;
  private readonly message: FollowupMessage;
  private readonly isPg: boolean;
  private source: LogSource | undefined;
  private sourceReady: Promise<void> = Promise.resolve();
  private markSourceReady: () => void = () => undefined;
  private subscription: Subscription | undefined;
  private timers: NodeJS.Timeout[] = [];
  private started = false;
  private ended = false;
  private managerSeenDown = false;
  private timedOut = false;
  /** The manager's word on a service-instance restore is held while the log catches up. */
  private holding = false;
  private progress: FollowProgress = { confirmed: false, unconfirmedReads: 0 };
  private knownBefore: ReadonlySet<number> = new Set();
  private followingSince = 0;
  private readonly done: Promise<FollowResult>;
  private resolveDone!: (r: FollowResult) => void;

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
      notBefore: (req.decidedAt ?? req.startedAt ?? deps.clock()) - RESTORE_CLOCK_SKEW_MS,
    });
    const content = {
      lines: () => this.window.lines(),
      reason: () => this.window.outcome?.line,
      source: describeLogSource({ file: options.logFile, command: options.logCommand, label: options.logLabel }),
    };
    this.message = new FollowupMessage(deps, req, content, options.editIntervalMs, options.logFile || options.logCommand ? 'following' : 'unconfigured');
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
          if (!this.ended && !this.window.outcome) this.message.update('source-ended');
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
    this.progress = { confirmed: info.confirmed === true || req.managerRestoreId !== null || req.postConfirmed, unconfirmedReads: 0 };
    this.knownBefore = new Set(info.knownBefore ?? []);
    this.followingSince = deps.clock();
    if (note) this.notice(restoreNote(req.id, options.resumed ? deps.clock() : undefined), note);
    this.message.post(req);
    void this.openSource();
    // A service instance's log may have told the outcome before the restore was marked started.
    void this.settle();
    if (this.ended) return;
    // The one reader reads the instance at the active cadence while this restore is followed.
    this.subscription = deps.reader.subscribe(req.instance, 'active', (outcome) => this.onRead(outcome));
    const timeout = setTimeout(
      () => {
        this.timedOut = true;
        void this.settle();
      },
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
    const before = this.logVerdict();
    this.window.push(lines);
    const decided = before ? undefined : this.logVerdict();
    // Only once started: before the POST's answer is stored, ending would race the runner.
    if (decided && this.started) void this.settle();
    if (!this.ended) this.message.update(decided?.outcome);
  }

  /** The first outcome line since the restore request; a call, as pushing lines changes it. */
  private logVerdict(): LogVerdict | undefined {
    return this.window.outcome;
  }

  private async onRead(outcome: ReadOutcome): Promise<void> {
    if (this.ended) return;
    if (outcome.ok) return this.settle(outcome.view);
    if (!(outcome.error instanceof UnavailableError)) {
      this.deps.logger.warn({ request: this.req.id, kind: (outcome.error as BackupManagerError).kind }, 'restore check failed');
    } else if (this.isPg && !this.managerSeenDown) {
      this.managerSeenDown = true;
      this.notice(
        restoreManagerDown(this.req.id),
        ':hourglass_flowing_sand: The Backup Manager is unreachable, as expected while a9s-pg is restored. I will post a summary when it answers again.',
      );
    }
  }

  /** Decides on what is known now, with the view just read if any, and does what it says. */
  private async settle(view?: InstanceView): Promise<void> {
    const decision = decideRestore(this.facts(), view);
    this.progress = { confirmed: decision.confirmed, unconfirmedReads: decision.unconfirmedReads };
    if (decision.ownRestoreId !== undefined) {
      this.deps.store.restores.setManagerRestoreId(this.req.id, decision.ownRestoreId);
      this.req = { ...this.req, managerRestoreId: decision.ownRestoreId };
    }
    if (decision.kind === 'hold') {
      this.holding = true;
      this.timers.push(setTimeout(() => this.endSafely(decision.ending), LOG_GRACE_MS));
    } else if (decision.kind === 'end' && decision.compareLaterBackups && view) {
      const forgotten = await readForgotten(this.deps, laterBackupsOf(this.req), { instance: this.req.instance, view });
      await this.end(decision.ending, forgotten);
    } else if (decision.kind === 'end' && decision.readOwnFirst && !view) {
      const fresh = await this.readOnce();
      // A read delivered meanwhile may have ended it already, with the id.
      if (this.ended) return;
      if (fresh) return this.settle(fresh);
      this.endSafely(decision.ending);
    } else if (decision.kind === 'end') {
      this.endSafely(decision.ending);
    }
  }

  /** One read of the instance, or undefined when the manager does not answer (the log's word stands). */
  private async readOnce(): Promise<InstanceView | undefined> {
    try {
      return await this.deps.reader.readNow(this.req.instance, { retry: false });
    } catch {
      return undefined;
    }
  }

  private facts(): RestoreFacts {
    const { req, options } = this;
    return {
      ...this.progress,
      instance: req.instance,
      isPg: this.isPg,
      backupId: req.backupId,
      managerRestoreId: req.managerRestoreId,
      approvedAt: req.decidedAt ?? req.startedAt ?? this.followingSince,
      knownBefore: this.knownBefore,
      newerBackups: req.newerBackups,
      log: this.window.outcome,
      restoreRequestSeen: this.window.restoreRequestSeen,
      managerSeenDown: this.managerSeenDown,
      followingForMs: this.deps.clock() - this.followingSince,
      confirmWindowMs: options.confirmWindowMs ?? CONFIRM_CHECKS * options.checkIntervalMs,
      timedOut: this.timedOut,
      logFollowed: this.source !== undefined,
      holding: this.holding,
      shown: { approvedAt: isoTime(req.decidedAt ?? this.followingSince), timeout: humanDuration(options.timeoutMs) },
    };
  }

  /** A post in the request's thread, once per key. */
  private notice(id: MessageId, text: string): void {
    const { req } = this;
    if (!req.cardTs) return;
    this.deps.outbox.enqueue({ ...id, channel: req.channel, method: 'chat.postMessage', payload: { channel: req.channel, thread_ts: req.cardTs, ...renderNotice(text) } });
  }

  /** For timers and callbacks: a failure to finish (say, a locked store) is logged; a restart resumes. */
  private endSafely(ending: RestoreEnding): void {
    this.end(ending).catch((err: unknown) => {
      this.deps.logger.error({ err, request: this.req.id }, 'could not finish the restore follow-up; a restart resumes it');
    });
  }

  /** `forgotten`: for a9s-pg, per instance, what the manager no longer lists after the restore. */
  private async end(ending: RestoreEnding, forgotten?: ForgottenOf[]): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    this.clearTimers();
    await this.source?.stop();
    const { deps } = this;
    const now = deps.clock();
    const { outcome, detail } = ending;
    this.message.finish(ending.state);
    if (deps.store.restores.finish(this.req.id, outcome, detail, now)) {
      const finished = deps.store.restores.get(this.req.id) as RestoreRequest;
      deps.outbox.transaction((add) => {
        if (finished.cardTs) {
          add({
            ...restoreSummary(finished.id),
            channel: finished.channel,
            method: 'chat.postMessage',
            payload: { channel: finished.channel, thread_ts: finished.cardTs, ...renderRestoreSummary(finished, outcome, detail, now, forgotten) },
          });
        }
        publishDecision(deps, finished, 'pgbackup-bot', add);
      });
    }
    this.resolveDone({ outcome, detail });
  }

  private clearTimers(): void {
    this.subscription?.close();
    this.subscription = undefined;
    for (const t of this.timers) clearTimeout(t);
    this.timers = [];
    this.message.close();
  }
}
