import { EventEmitter } from 'node:events';
import { BackupManagerError } from '../backup-manager/errors';
import type { Deps } from '../deps';
import { managerErrorSentence } from '../slack/messages/errors';
import { A9S_PG } from '../slack/messages/restore-card';
import type { RestoreRequest } from '../store';
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

  constructor(
    private readonly deps: Deps,
    private readonly options: RunnerOptions,
  ) {}

  /** Called once per approval that reached the quorum. */
  start(req: RestoreRequest): void {
    void this.run(req).catch((err: unknown) => this.deps.logger.error({ err, request: req.id }, 'restore runner crashed'));
  }

  /** After a restart: follow every restore that was approved or running; POST nothing. */
  resume(): number {
    const { store, clock } = this.deps;
    const open = [...store.restores.inState('approved'), ...store.restores.inState('running')];
    for (const req of open) {
      let note = ':arrows_counterclockwise: The bot restarted; it goes on following this restore.';
      if (req.state === 'approved') {
        // The POST may or may not have gone out before the restart; sending it again could
        // restore twice, so follow as if it started and let the follow-up tell.
        store.restores.markStarted(req.id, null, clock());
        note = ':warning: The bot restarted while starting this restore. It did not send it again; following it as if it started.';
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
    await Promise.all([...this.sessions.values()].map((s) => s.stop()));
    this.sessions.clear();
  }

  private async run(req: RestoreRequest): Promise<void> {
    const { api, store, clock, logger } = this.deps;
    let managerId: number | null = null;
    let note: string | undefined;
    const session = this.session(req, false);
    await session.openSource();
    // Stopped while the log was being opened: send nothing; a restart resumes the request.
    if (this.sessions.get(req.id) !== session) return;
    try {
      managerId = (await api.triggerRestore(req.backupId, req.instanceNumericId)).id;
    } catch (err) {
      const ambiguous = err instanceof BackupManagerError && (err.kind === 'unavailable' || err.kind === 'bad_response');
      if (!ambiguous) {
        const sentence = managerErrorSentence(err, req.instance);
        logger.warn({ request: req.id, kind: err instanceof BackupManagerError ? err.kind : 'internal' }, 'restore POST refused');
        await this.drop(req.id);
        if (store.restores.finish(req.id, 'failed', sentence, clock())) {
          publishDecision(this.deps, store.restores.get(req.id) as RestoreRequest, 'pgbackup-bot');
        }
        return;
      }
      note = `:warning: The Backup Manager did not confirm the start of the restore (${managerErrorSentence(err, req.instance)}). It was not sent again; following it as if it started.`;
    }
    if (!store.restores.markStarted(req.id, managerId, clock())) {
      await this.drop(req.id);
      return;
    }
    publishDecision(this.deps, store.restores.get(req.id) as RestoreRequest, 'pgbackup-bot');
    session.start(note);
  }

  private follow(req: RestoreRequest, resumed: boolean, note: string | undefined): void {
    if (this.sessions.has(req.id)) return;
    this.session(req, resumed).start(note);
  }

  private session(req: RestoreRequest, resumed: boolean): FollowSession {
    const session = new FollowSession(this.deps, req, { ...this.options, resumed });
    this.sessions.set(req.id, session);
    void session.finished().then((result) => {
      this.sessions.delete(req.id);
      this.events.emit('finished', this.deps.store.restores.get(req.id) as RestoreRequest, result);
    });
    return session;
  }

  private async drop(id: number): Promise<void> {
    await this.sessions.get(id)?.stop();
    this.sessions.delete(id);
  }
}
