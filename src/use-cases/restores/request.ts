import type { Backup, InstanceView } from '../../domain/backups';
import type { Deps, Origin } from '../deps';
import type { BackupRef } from '../../domain/commands';
import { renderManagerError } from '../../outbound/messages/errors';
import { code } from '../../outbound/messages/format';
import { renderNotice } from '../../outbound/messages/help';
import { A9S_PG } from '../../domain/constants';
import { renderRestoreCard } from '../../outbound/messages/restore-card';
import type { LaterBackupsOf } from '../../ports/store';
import { readLaterBackups } from './impact';
import { publishDecision } from './publish';
import { restoreCard } from '../../domain/message-keys';

export type RequestOutcome = 'pending' | 'refused' | 'error';

function describe(ref: BackupRef): string {
  return ref.kind === 'id' ? String(ref.id) : ref.name;
}

/** The backup a request is about, as the card, the form and the store name it. */
export function restoreSubject(
  instance: string,
  view: InstanceView,
  backup: Backup,
): { instance: string; instanceNumericId: number; backupId: number; backupName: string | null; backupSize: number | null; backupCreatedAt: string | null } {
  return {
    instance,
    instanceNumericId: view.id,
    backupId: backup.id,
    backupName: backup.backupName,
    backupSize: backup.size,
    backupCreatedAt: backup.task?.createdAt ?? null,
  };
}

/**
 * What a restore request starts from: the instance is not locked by a running restore, and
 * the backup exists and is done. Anything else is answered privately and ends the request.
 */
export async function findRestorable(
  deps: Pick<Deps, 'reader' | 'store'>,
  origin: Origin,
  instance: string,
  ref: BackupRef,
): Promise<{ view: InstanceView; backup: Backup } | RequestOutcome> {
  const lock = deps.store.restores.lockHolder(instance);
  if (lock) {
    await origin.reply(renderNotice(`:lock: A restore of ${code(instance)} is already in progress (request #${lock.id}); wait for it to end.`));
    return 'refused';
  }
  let view: InstanceView;
  try {
    view = await deps.reader.readNow(instance);
  } catch (err) {
    await origin.reply(renderManagerError(err, instance, `prepare the restore of ${code(instance)}`));
    return 'error';
  }
  const backup = view.backups.find((b) => (ref.kind === 'id' ? b.id === ref.id : b.backupName === ref.name));
  if (!backup) {
    await origin.reply(
      renderNotice(`:warning: There is no backup ${code(describe(ref))} of ${code(instance)}. \`/pgbackup list ${instance}\` shows the latest ones.`),
    );
    return 'refused';
  }
  if (backup.status !== 'done') {
    await origin.reply(
      renderNotice(`:warning: Backup ${backup.id} of ${code(instance)} is *${backup.status}*; only a backup that is done can be restored.`),
    );
    return 'refused';
  }
  return { view, backup };
}

/**
 * `/pgbackup restore` and the Restore… button: checks the backup exists and is done, stores
 * the request, then posts the approval card. Nothing is restored here.
 */
export async function requestRestore(
  deps: Deps,
  origin: Origin,
  input: { instance: string; backup: BackupRef; reason: string },
): Promise<RequestOutcome> {
  const { store, config, clock, outbox } = deps;
  const { instance } = input;
  if (config.restoreReason === 'required' && input.reason.trim() === '') {
    await origin.reply(renderNotice(`:warning: A restore request needs a reason (RESTORE_REASON=required); nothing was requested. \`/pgbackup restore <backup> [instance] <reason…>\``));
    return 'refused';
  }
  const found = await findRestorable(deps, origin, instance, input.backup);
  if (typeof found === 'string') return found;
  const { view, backup } = found;

  // a9s-pg's database holds every instance's records: its restore forgets their later backups too.
  const laterBackups: LaterBackupsOf[] = instance === A9S_PG ? await readLaterBackups(deps, { instance, view, chosen: backup }) : [];
  const now = clock();
  const req = store.restores.create({
    ...restoreSubject(instance, view, backup),
    newerBackups: laterBackups[0]?.known ? laterBackups[0].later : [],
    laterBackups,
    requester: origin.user,
    reason: input.reason,
    channel: origin.channel,
    approvalsNeeded: config.restoreApprovals,
    rejectionsNeeded: config.restoreRejections,
    createdAt: now,
    expiresAt: now + config.approvalTtlMs,
  });
  const job = outbox.transaction((add) => {
    publishDecision(deps, req, origin.user, add);
    return add({
      ...restoreCard(req.id),
      channel: req.channel,
      method: 'chat.postMessage',
      payload: { channel: req.channel, ...renderRestoreCard(req, now) },
    });
  });
  if (job) {
    const settled = await outbox.settled(job.id);
    if (settled.state === 'failed') {
      // No card, no way to approve: end the request so it holds nothing.
      store.restores.decide(req.id, 'withdrawn', origin.user, clock());
      await origin.reply(
        renderNotice(`:warning: I could not post the approval card here (${settled.error ?? 'error'}). Invite me with \`/invite @pgbackup\` and ask again. Nothing was restored.`),
      );
      return 'error';
    }
  }
  return 'pending';
}
