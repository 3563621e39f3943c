import { z } from 'zod';
import type { Deps } from '../../../../use-cases/deps';
import { openRestoreModal } from '../../../../use-cases/restores/restore-modal';
import { checkInstance } from '../../command-parser';
import { renderInternalError } from '../../../../outbound/messages/errors';
import { renderNotice } from '../../../../outbound/messages/help';
import { renderRefusal } from '../../../../outbound/messages/access';
import { parseClick, type ButtonArgs } from './payload';

const ButtonValue = z.object({ instance: z.string().min(1).max(100), backupId: z.number().int().nonnegative() });

/** The Restore… button of `list`: opens the restore modal; the request is made on its submission. */
export function restoreOpenHandler(deps: Deps) {
  return async (args: ButtonArgs): Promise<void> => {
    await args.ack();
    const click = parseClick(deps, args);
    if (!click) return;
    let value: z.infer<typeof ButtonValue>;
    try {
      value = ButtonValue.parse(JSON.parse(click.value));
    } catch {
      deps.metrics.actions.inc({ action: 'restore_open', outcome: 'invalid' });
      return;
    }
    const verdict = await deps.access.check({ user: click.origin.user, channel: click.origin.channel, permission: 'operate', action: 'restore_open', instance: value.instance });
    if (!verdict.allowed) {
      await click.origin.reply(renderRefusal(verdict, 'request restores'));
      deps.metrics.actions.inc({ action: 'restore_open', outcome: 'refused' });
      return;
    }
    const problem = checkInstance(value.instance, deps.config);
    if (problem) {
      await click.origin.reply(renderNotice(`:warning: ${problem}`));
      deps.metrics.actions.inc({ action: 'restore_open', outcome: 'refused' });
      return;
    }
    if (click.triggerId === undefined) {
      deps.metrics.actions.inc({ action: 'restore_open', outcome: 'invalid' });
      return;
    }
    let outcome: string;
    try {
      outcome = await openRestoreModal(deps, click.origin, { instance: value.instance, backup: { kind: 'id', id: value.backupId }, triggerId: click.triggerId });
    } catch (err) {
      deps.logger.error({ err, action: 'restore_open' }, 'restore request failed');
      await click.origin.reply(renderInternalError(err, `request the restore of backup ${value.backupId}`));
      outcome = 'error';
    }
    deps.metrics.actions.inc({ action: 'restore_open', outcome });
  };
}
