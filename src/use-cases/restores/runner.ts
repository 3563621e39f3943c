import { EventEmitter } from 'node:events';
import { BackupManagerError } from '../../domain/manager-errors';
import type { Deps } from '../deps';
import { managerErrorSentence } from '../../outbound/messages/errors';
import { A9S_PG } from '../../domain/constants';
import type { InstanceView } from '../../domain/backups';
import type { RestoreRequest } from '../../ports/store';
import { FollowSession, type FollowOptions, type FollowResult } from './follow-session';
import { publishDecision } from './publish';

export type RunnerOptions = Omit<FollowOptions, 'resumed'>;

/**
 * Runs approved restores: exactly one POST per approved request (never retried), then a
 * follow session to the end. After a restart it resumes following what was running and
 * never sends a POST again.
 */
export class RestoreRunner {
  readonly events = new EventEmitter<{ finished: [RestoreRequest, FollowResult] }>();
  private readonly sessions = new Map<number, FollowSession>();
  /** Requests between start() and their follow session (reading, claiming, POSTing). */
  private readonly starting = new Set<number>();
  private stopped = false;

  constructor(
    private readonly deps: Deps,
    private readonly options: RunnerOptions,
  ) {}

  /** Called once per approval that reached the quorum (on the leader; followers leave it to pickUp). */
  start(req: RestoreRequest): void {
    if (this.stopped || this.starting.has(req.id) || this.sessions.has(req.id)) return;
    this.starting.add(req.id);
    void this.run(req)
      .catch((err: unknown) => this.deps.logger.error({ err, request: req.id }, 'restore runner crashed'))
      .finally(() => this.starting.delete(req.id));
  }

  /**
   * After a restart, when this replica becomes the leader, and on each of the leader's rounds:
   * follows every restore that is running, or approved with its POST claimed, and POSTs none of
   * them again (one this process neither starts nor follows was claimed by an earlier run or
   * leader: its own are in `starting` or `sessions` from the claim on). An approved one whose
   * POST nobody claimed was never sent: it is started now (approved on a follower, or the
   * leader died before its turn).
   */
  pickUp(): number {
    const { store, clock } = this.deps;
    if (this.stopped) return 0;
    const open = [...store.restores.inState('approved'), ...store.restores.inState('running')].filter((r) => !this.sessions.has(r.id) && !this.starting.has(r.id));
    for (const req of open) {
      if (req.state === 'approved' && req.postClaimedAt === null) {
        this.start(req);
        continue;
      }
      let note = ':arrows_counterclockwise: The bot restarted; it goes on following this restore.';
      if (req.state === 'approved') {
        // The POST may or may not have gone out before the restart; sending it again could
        // restore twice. Follow it: only a restore the manager shows since the approval counts,
        // and with none the request ends as not started.
        note = ':warning: The bot restarted while starting this restore. It did not send it again; checking whether the Backup Manager started it.';
        this.deps.outbox.transaction((add) => {
          if (store.restores.markStarted(req.id, null, clock())) publishDecision(this.deps, store.restores.get(req.id) as RestoreRequest, 'pgbackup-bot', add);
        });
      } else {
        // The card may still say "Approved — starting…" (the restart came between the start
        // and its card edit): show it running. Keyed per state, so nothing is posted twice.
        publishDecision(this.deps, req, 'pgbackup-bot', undefined, { audit: false });
      }
      this.follow(store.restores.get(req.id) as RestoreRequest, true, note);
    }
    return open.length;
  }

  /** True while a restore of a9s-pg is approved or running: the manager's outage is expected then. */
  pgRestoreInProgress(): boolean {
    return this.deps.store.restores.lockHolder(A9S_PG) !== undefined;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all([...this.sessions.values()].map((s) => s.stop()));
    this.sessions.clear();
  }

  private async run(req: RestoreRequest): Promise<void> {
    const { api, reader, store, clock, logger } = this.deps;
    // The request may have waited an hour: its backup can be gone (an a9s-pg restore made the
    // manager forget it, retention deleted it). Look again; sending a restore of a backup that
    // is not there only fails later with a confusing answer.
    let view: InstanceView;
    try {
      view = await reader.readNow(req.instance);
    } catch (err) {
      await this.notStarted(req, `Could not check backup ${req.backupId} before starting the restore: ${managerErrorSentence(err, req.instance, 'plain')} Nothing was sent.`);
      return;
    }
    if (this.stopped) return;
    const backup = view.backups.find((b) => b.id === req.backupId);
    if (!backup || backup.status !== 'done') {
      const why = backup
        ? `Backup ${req.backupId} is ${backup.status} now; only a done backup can be restored.`
        : `Backup ${req.backupId} is no longer known to the Backup Manager (an a9s-pg restore or retention removed it).`;
      await this.notStarted(req, `${why} Nothing was sent.`);
      return;
    }
    const knownBefore = view.restores.map((r) => r.id);

    let managerId: number | null = null;
    let confirmed = true;
    let note: string | undefined;
    const session = this.session(req, false);
    await session.openSource();
    // Stopped while the log was being opened: send nothing; a restart resumes the request.
    if (this.sessions.get(req.id) !== session) return;
    // The one POST is claimed in the store first, fenced by the leadership epoch: a replica
    // that lost the leadership, or a second start of the same request, sends nothing.
    const epoch = this.deps.leaderEpoch ? this.deps.leaderEpoch() : 0;
    if (epoch === null || !store.restores.claimPost(req.id, clock(), epoch)) {
      logger.warn({ request: req.id, epoch }, 'restore POST not claimed (another replica leads, or it was claimed before): not sending it');
      await this.drop(req.id);
      return;
    }
    try {
      managerId = (await api.triggerRestore(req.backupId, req.instanceNumericId, req.instance)).id;
    } catch (err) {
      const ambiguous = err instanceof BackupManagerError && (err.kind === 'unavailable' || err.kind === 'bad_response');
      if (!ambiguous) {
        // Stored plain: the card escapes it when it renders it.
        const sentence = managerErrorSentence(err, req.instance, 'plain');
        logger.warn({ request: req.id, kind: err instanceof BackupManagerError ? err.kind : 'internal' }, 'restore POST refused');
        await this.drop(req.id);
        if (store.restores.finish(req.id, 'failed', sentence, clock())) {
          publishDecision(this.deps, store.restores.get(req.id) as RestoreRequest, 'pgbackup-bot');
        }
        return;
      }
      confirmed = false;
      note = `:warning: The Backup Manager did not confirm the start of the restore (${managerErrorSentence(err, req.instance)}). It was not sent again; checking whether the manager started it.`;
    }
    const started = this.deps.outbox.transaction((add) => {
      if (!store.restores.markStarted(req.id, managerId, clock(), confirmed)) return false;
      publishDecision(this.deps, store.restores.get(req.id) as RestoreRequest, 'pgbackup-bot', add);
      return true;
    });
    if (!started) {
      await this.drop(req.id);
      return;
    }
    session.start(note, { confirmed, knownBefore });
  }

  /** Ends an approved request before anything was sent; the instance's lock goes with it. */
  private async notStarted(req: RestoreRequest, outcome: string): Promise<void> {
    const { store, clock, logger } = this.deps;
    logger.warn({ request: req.id }, 'restore not started');
    await this.drop(req.id);
    if (store.restores.finish(req.id, 'not_started', outcome, clock())) {
      publishDecision(this.deps, store.restores.get(req.id) as RestoreRequest, 'pgbackup-bot');
    }
  }

  private follow(req: RestoreRequest, resumed: boolean, note: string | undefined): void {
    if (this.sessions.has(req.id)) return;
    this.session(req, resumed).start(note);
  }

  private session(req: RestoreRequest, resumed: boolean): FollowSession {
    const session = new FollowSession(this.deps, req, { ...this.options, resumed });
    this.sessions.set(req.id, session);
    void session.finished().then(async (result) => {
      this.sessions.delete(req.id);
      const finished = this.deps.store.restores.get(req.id) as RestoreRequest;
      // Before 'finished', so whoever waits for it sees the closed requests too.
      if (req.instance === A9S_PG && result.outcome !== 'not_started') {
        await this.closeForgottenRequests(finished).catch((err: unknown) => this.deps.logger.warn({ err, request: req.id }, 'could not close stale restore requests'));
      }
      this.events.emit('finished', finished, result);
    });
    return session;
  }

  /**
   * After a restore of a9s-pg the manager forgets every backup made after the restored one, on
   * every instance. Pending requests for such a backup could never run: close them now, saying
   * why, rather than let someone approve them into an error.
   */
  private async closeForgottenRequests(pgRestore: RestoreRequest): Promise<void> {
    const { reader, store, clock } = this.deps;
    const pending = store.restores.inState('pending');
    const instances = [...new Set(pending.map((r) => r.instance))];
    for (const instance of instances) {
      if (this.stopped) return;
      let view: InstanceView;
      try {
        view = await reader.readNow(instance, { retry: false });
      } catch {
        // Unreachable now: the check before the POST still stops such a request later.
        continue;
      }
      const listed = new Set(view.backups.map((b) => b.id));
      for (const req of pending) {
        if (req.instance !== instance || listed.has(req.backupId)) continue;
        const why =
          `Backup ${req.backupId} is no longer known to the Backup Manager: the restore of ${A9S_PG} to backup ${pgRestore.backupId} ` +
          `(request #${pgRestore.id}) made it forget the backups made after that one. Nothing was restored; request a restore of a backup it still lists.`;
        if (store.restores.closePending(req.id, why, clock())) {
          publishDecision(this.deps, store.restores.get(req.id) as RestoreRequest, 'pgbackup-bot');
        }
      }
    }
  }

  private async drop(id: number): Promise<void> {
    await this.sessions.get(id)?.stop();
    this.sessions.delete(id);
  }
}
