import { DEFAULT_DEADLINE_MS, startBudget, type Budget } from '../backup-manager/deadline';
import { BackupManagerError } from '../backup-manager/errors';
import type { InstanceView } from '../backup-manager/schemas';
import type { Deps, Origin } from '../deps';
import { renderManagerError, storeProblem } from '../slack/messages/errors';
import { renderNotice } from '../slack/messages/help';
import { renderBackupParent } from '../slack/messages/backup-task';
import { code } from '../slack/messages/format';
import type { TrackedTask } from '../store';

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
  const { api, store, clock, logger } = deps;
  const lock = store.restores.lockHolder(instance);
  if (lock) {
    await origin.reply(renderNotice(`:lock: A restore of ${code(instance)} is in progress (request #${lock.id}); backups of it are refused until it ends.`));
    return 'refused';
  }

  // The person gets an answer within one budget, whatever the manager does.
  const budget = startBudget(deps.managerDeadlineMs ?? DEFAULT_DEADLINE_MS);
  let before: InstanceView;
  try {
    before = await api.getInstance(instance, { signal: budget.signal() });
  } catch (err) {
    await origin.reply(renderManagerError(err, instance, `back up ${code(instance)}`));
    return 'error';
  }

  // A backup the bot can not record would run unfollowed: find out before starting one
  // (throws SQLITE_BUSY/READONLY when the state file can not be written; the caller answers).
  store.db.transaction(() => undefined).immediate();

  let backupId: number;
  try {
    // A fifth of the budget stays for the read that reconciles a POST cut off by the deadline.
    backupId = (await api.triggerBackup(instance, { signal: budget.signal(budget.ms / 5) })).id;
  } catch (err) {
    if (!ambiguous(err)) {
      await origin.reply(renderManagerError(err, instance, `back up ${code(instance)}`));
      return 'error';
    }
    // Never retry the POST: look for the backup it may have started instead.
    const adopted = await findNewBackup(deps, instance, before, budget);
    if (adopted === undefined) {
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
  let task: TrackedTask;
  try {
    task = store.tasks.track({ instance, backupId, channel: origin.channel, requester: origin.user, status: 'queued', at: now });
    store.audit.record({ at: now, actor: origin.user, action: 'backup.trigger', instance, requestId: null, details: { backupId, channel: origin.channel } });
  } catch (err) {
    // The backup runs, but the state file refused it (locked or read-only since the check above).
    logger.error({ err, instance, backupId }, 'backup started but could not be recorded');
    await origin.reply(
      renderNotice(
        `:warning: Backup ${backupId} of ${code(instance)} started, but I could not record it${storeProblem(err) ? ` (state store: ${storeProblem(err)})` : ''}, so I am not following it here. \`/pgbackup list ${instance}\` shows how it goes${deps.config.watchInstances.includes(instance) ? '; a failure is still announced by the failure watch' : ''}.`,
      ),
    );
    return 'error';
  }
  const posted = await postParent(deps, task);
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

/** Posts the parent message; resolves with the Slack error when it could not be posted. */
async function postParent(deps: Deps, task: TrackedTask): Promise<string | null> {
  const job = deps.outbox.enqueue({
    key: `task:${task.id}:parent`,
    channel: task.channel,
    method: 'chat.postMessage',
    payload: { channel: task.channel, ...renderBackupParent(task, deps.clock()) },
    ref: `task-parent:${task.id}`,
  });
  if (!job) return null;
  const settled = await deps.outbox.settled(job.id);
  return settled.state === 'failed' ? (settled.error ?? 'error') : null;
}

async function findNewBackup(deps: Deps, instance: string, before: InstanceView, budget: Budget): Promise<number | undefined> {
  const known = new Set(before.backups.map((b) => b.id));
  try {
    const after = await deps.api.getInstance(instance, { signal: budget.signal() });
    const fresh = after.backups.filter((b) => !known.has(b.id) && (b.status === 'queued' || b.status === 'running'));
    if (fresh.length !== 1) return undefined; // none, or several: can not tell which is ours
    return fresh[0]?.id;
  } catch {
    return undefined;
  }
}
