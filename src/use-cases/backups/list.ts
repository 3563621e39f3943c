import type { Deps, Origin } from '../deps';
import { renderBackupList } from '../../outbound/messages/backup-list';
import { renderManagerError } from '../../outbound/messages/errors';
import { code } from '../../outbound/messages/format';

/** `/pgbackup list|status`: the latest backups, ephemerally, with Restore… on the done ones. */
export async function listBackups(deps: Deps, origin: Origin, instance: string): Promise<boolean> {
  try {
    const view = await deps.reader.readNow(instance);
    const locked = deps.store.restores.lockHolder(instance) !== undefined;
    await origin.reply(renderBackupList(view, deps.clock(), { restoreLocked: locked }));
    return true;
  } catch (err) {
    await origin.reply(renderManagerError(err, instance, `list the backups of ${code(instance)}`));
    return false;
  }
}
