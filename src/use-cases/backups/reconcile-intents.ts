import { BackupManagerError, NotFoundError } from '../../domain/manager-errors';
import type { Deps } from '../deps';
import { renderNotice } from '../../outbound/messages/help';
import { code, isoTime, user } from '../../outbound/messages/format';
import type { BackupIntent } from '../../ports/store';
import { newBackupOf, parentJob } from './trigger';
import { backoffDelay } from '../../domain/backoff';
import { intentUnconfirmed } from '../../domain/message-keys';

export type IntentOutcome = { kind: 'tracked'; backupId: number } | { kind: 'unconfirmed' } | { kind: 'retry' };

/**
 * Decides one backup intent a previous run left open (it died between writing it and storing
 * the POST's outcome): the one backup that appeared since is tracked as if the POST had
 * answered; otherwise the channel is told that the backup could not be confirmed. Never POSTs.
 */
export async function reconcileIntent(deps: Deps, intent: BackupIntent): Promise<IntentOutcome> {
  const { reader, store, outbox, logger, clock } = deps;
  let backupId: number | undefined;
  try {
    backupId = newBackupOf(await reader.readNow(intent.instance), intent.knownIds);
  } catch (err) {
    if (!(err instanceof NotFoundError)) {
      logger.warn({ instance: intent.instance, intent: intent.id, kind: err instanceof BackupManagerError ? err.kind : 'internal' }, 'can not reconcile a backup intent yet');
      return { kind: 'retry' };
    }
  }
  const now = clock();
  if (backupId === undefined) {
    outbox.transaction((add) => {
      if (!store.intents.close(intent.id, now)) return;
      add({
        ...intentUnconfirmed(intent.id),
        channel: intent.channel,
        method: 'chat.postMessage',
        payload: {
          channel: intent.channel,
          ...renderNotice(
            `:warning: I was restarted while asking the Backup Manager for a backup of ${code(intent.instance)} (requested by ${user(intent.requester)} at ${isoTime(intent.createdAt)}), and I could not confirm that it started: no single new backup of it appeared. Nothing was retried. Check \`/pgbackup list ${intent.instance}\` before trying again.`,
          ),
        },
      });
    });
    logger.warn({ instance: intent.instance, intent: intent.id }, 'backup intent could not be confirmed after a restart');
    return { kind: 'unconfirmed' };
  }
  const found = backupId;
  // Tracked and its parent queued together: a crash in between can not leave a task no thread follows.
  const tracked = outbox.transaction((add): boolean => {
    if (!store.intents.close(intent.id, now)) return false;
    const task = store.tasks.track({ instance: intent.instance, backupId: found, channel: intent.channel, requester: intent.requester, status: 'queued', at: intent.createdAt });
    store.audit.record({ at: now, actor: intent.requester, action: 'backup.trigger', instance: intent.instance, requestId: null, details: { backupId: found, channel: intent.channel, reconciledAfterRestart: true } });
    add(parentJob(task));
    return true;
  });
  if (tracked) {
    logger.info({ instance: intent.instance, backupId: found }, 'backup started before a restart found and tracked');
    deps.poller.wake(intent.instance);
  }
  return { kind: 'tracked', backupId: found };
}

/**
 * Reconciles, once, the intents that were open when the bot started (those of this run are
 * the trigger's own business); retries with a capped backoff while the manager does not answer.
 */
export class IntentReconciler {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private failures = 0;
  private running: Promise<void> | undefined;

  constructor(
    private readonly deps: Deps,
    private readonly retryMs: number,
    private readonly maxRetryMs = 60_000,
    /**
     * Several replicas: an intent younger than this may belong to a live replica whose POST is
     * still under way (a command's whole manager deadline); only older ones are abandoned.
     * One bot: 0, every open intent at its start is a previous run's.
     */
    private readonly abandonedAfterMs = 0,
  ) {}

  /** At the start, and on the leader's rounds: reconciles abandoned intents not already in hand. */
  start(): void {
    if (this.stopped || this.running) return;
    let pending: BackupIntent[];
    try {
      pending = this.deps.store.intents.listOpen(this.deps.clock() - this.abandonedAfterMs);
    } catch (err) {
      this.deps.logger.error({ err }, 'could not read open backup intents');
      return;
    }
    if (pending.length > 0) this.running = this.run(pending).finally(() => (this.running = undefined));
  }

  /** Resolves once no reconciliation is in flight (later retries are cancelled). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private async run(intents: BackupIntent[]): Promise<void> {
    const left: BackupIntent[] = [];
    for (const intent of intents) {
      if (this.stopped) return;
      try {
        if ((await reconcileIntent(this.deps, intent)).kind === 'retry') left.push(intent);
      } catch (err) {
        // E.g. the store locked: the intent stays open and is tried again.
        this.deps.logger.error({ err, intent: intent.id }, 'backup intent reconciliation failed');
        left.push(intent);
      }
    }
    if (left.length === 0 || this.stopped) return;
    this.failures++;
    // No jitter: one reconciler per process, nothing to spread.
    const delay = backoffDelay(this.failures, { minDelayMs: this.retryMs, maxDelayMs: this.maxRetryMs }, () => 1);
    this.timer = setTimeout(() => {
      this.running = this.run(left);
    }, delay);
    this.timer.unref?.();
  }
}
