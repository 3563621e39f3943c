import { DEFAULT_DEADLINE_MS, startBudget, type Budget } from '../../ports/backup-manager/deadline';
import { BackupManagerError } from '../../domain/manager-errors';
import type { InstanceView } from '../../domain/backups';
import type { Deps, Origin } from '../deps';
import { describeStoreProblem, renderManagerError, storeProblem } from '../../outbound/messages/errors';
import { renderNotice } from '../../outbound/messages/help';
import { renderBackupParent } from '../../outbound/messages/backup-task';
import { code } from '../../outbound/messages/format';
import type { BackupIntent, NewOutboxJob, OutboxJob, TrackedTask } from '../../ports/store';
import { taskParent } from '../../domain/message-keys';

export type TriggerOutcome = 'tracked' | 'refused' | 'error' | 'uncertain';

/** Errors after which the POST may or may not have reached the manager. */
function ambiguous(err: unknown): boolean {
  return err instanceof BackupManagerError && (err.kind === 'unavailable' || err.kind === 'bad_response');
}

/**
 * `/pgbackup now`: checks the instance exists and is not being restored, starts exactly one
 * backup (the POST is never retried), then posts the parent message and hands it to the poller.
 */
export async function triggerBackup(deps: Deps, origin: Origin, instance: string): Promise<TriggerOutcome> {
  const { api, reader, store, clock, logger } = deps;
  const lock = store.restores.lockHolder(instance);
  if (lock) {
    await origin.reply(renderNotice(`:lock: A restore of ${code(instance)} is in progress (request #${lock.id}); backups of it are refused until it ends.`));
    return 'refused';
  }

  // The person gets an answer within one budget, whatever the manager does.
  const budget = startBudget(deps.managerDeadlineMs ?? DEFAULT_DEADLINE_MS);
  let before: InstanceView;
  try {
    before = await reader.readNow(instance, { signal: budget.signal() });
  } catch (err) {
    await origin.reply(renderManagerError(err, instance, `back up ${code(instance)}`));
    return 'error';
  }

  // Recorded before the POST: a backup the bot can not write down would run unfollowed (a full
  // disk, a locked file), and a crash after the POST leaves this behind for the restart to reconcile.
  let intent: BackupIntent;
  try {
    const at = clock();
    // With the probe: room not only for this row but for the pages tracking takes after the POST.
    intent = store.transaction(() => {
      store.probeWrite(at);
      return store.intents.open({ instance, requester: origin.user, channel: origin.channel, knownIds: before.backups.map((b) => b.id), at });
    });
  } catch (err) {
    logger.error({ err, instance }, 'could not record the backup request; nothing started');
    const problem = storeProblem(err);
    await origin.reply(
      renderNotice(
        `:warning: Nothing was started: I could not record the backup of ${code(instance)} because the bot's state store ${describeStoreProblem(problem)}${problem ? ` (${problem})` : ''}. Try again once it is fixed.`,
      ),
    );
    return 'refused';
  }
  const closeIntent = () => {
    try {
      store.intents.close(intent.id, clock());
    } catch (err) {
      // Left open, a restart reconciles it against the manager: nothing is started twice.
      logger.warn({ err, instance, intent: intent.id }, 'could not close the backup intent');
    }
  };

  let backupId: number;
  try {
    // A fifth of the budget stays for the read that reconciles a POST cut off by the deadline.
    backupId = (await api.triggerBackup(instance, { signal: budget.signal(budget.ms / 5) })).id;
  } catch (err) {
    if (!ambiguous(err)) {
      closeIntent();
      await origin.reply(renderManagerError(err, instance, `back up ${code(instance)}`));
      return 'error';
    }
    // Never retry the POST: look for the backup it may have started instead.
    const adopted = await findNewBackup(deps, instance, intent.knownIds, budget);
    if (adopted === undefined) {
      closeIntent();
      logger.warn({ instance, kind: (err as BackupManagerError).kind }, 'backup POST ambiguous and no new backup found');
      await origin.reply(
        renderNotice(
          `:warning: The Backup Manager did not confirm the backup of ${code(instance)}, and no new backup appeared. Nothing was retried. Check \`/pgbackup list ${instance}\` before trying again.`,
        ),
      );
      return 'uncertain';
    }
    backupId = adopted;
  }

  const now = clock();
  let parent: OutboxJob | undefined;
  try {
    // One transaction: a crash can not leave a tracked backup without its parent, nor an intent open for a recorded one.
    deps.outbox.transaction((add) => {
      const task = store.tasks.track({ instance, backupId, channel: origin.channel, requester: origin.user, status: 'queued', at: now });
      store.audit.record({ at: now, actor: origin.user, action: 'backup.trigger', instance, requestId: null, details: { backupId, channel: origin.channel } });
      store.intents.close(intent.id, now);
      parent = add(parentJob(task));
    });
  } catch (err) {
    // The backup runs, but the state file refused it (locked or full since the intent was written).
    logger.error({ err, instance, backupId }, 'backup started but could not be recorded');
    await origin.reply(
      renderNotice(
        `:warning: Backup ${backupId} of ${code(instance)} started, but I could not record it${storeProblem(err) ? ` (state store: ${storeProblem(err)})` : ''}, so I am not following it here yet. \`/pgbackup list ${instance}\` shows how it goes${deps.config.watchInstances.includes(instance) ? '; a failure is still announced by the failure watch' : ''}.`,
      ),
    );
    return 'error';
  }
  const posted = parent ? await parentError(deps, parent) : null;
  if (posted !== null) {
    await origin.reply(
      renderNotice(
        `Backup ${backupId} of ${code(instance)} started, but I can not post in this channel (${posted}). Invite me with \`/invite @pgbackup\` to follow backups here. Failures are still announced${deps.config.notifyChannel ? ` in <#${deps.config.notifyChannel}>` : ''}.`,
      ),
    );
  }
  deps.poller.wake(instance);
  return 'tracked';
}

/** The parent message's job (its `task-parent` ref stores the ts and posts the first reply). */
export function parentJob(task: TrackedTask): NewOutboxJob {
  return {
    ...taskParent(task.id),
    channel: task.channel,
    method: 'chat.postMessage',
    payload: { channel: task.channel, ...renderBackupParent(task) },
  };
}

/** Waits for the parent message; resolves with the Slack error when it could not be posted. */
async function parentError(deps: Deps, job: OutboxJob): Promise<string | null> {
  const settled = await deps.outbox.settled(job.id);
  return settled.state === 'failed' ? (settled.error ?? 'error') : null;
}

/** Statuses a backup our POST started can have by the time we look (it may even have ended). */
const STARTED = new Set<string>(['queued', 'running', 'done', 'failed']);

/**
 * The one backup that appeared since `knownIds` were listed; undefined when none did, or
 * several (e.g. the manager's own schedule ran too): then nobody can tell which one is ours.
 */
export function newBackupOf(view: InstanceView, knownIds: readonly number[]): number | undefined {
  const known = new Set(knownIds);
  const fresh = view.backups.filter((b) => !known.has(b.id) && STARTED.has(b.status));
  return fresh.length === 1 ? fresh[0]?.id : undefined;
}

async function findNewBackup(deps: Deps, instance: string, knownIds: readonly number[], budget: Budget): Promise<number | undefined> {
  try {
    return newBackupOf(await deps.reader.readNow(instance, { signal: budget.signal() }), knownIds);
  } catch {
    return undefined;
  }
}
