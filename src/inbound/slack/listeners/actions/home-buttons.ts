import { z } from 'zod';
import { listBackups } from '../../../../use-cases/backups/list';
import { triggerBackup } from '../../../../use-cases/backups/trigger';
import type { Deps, Origin } from '../../../../use-cases/deps';
import { checkInstance } from '../../command-parser';
import { renderRefusal } from '../../../../outbound/messages/access';
import { renderInternalError } from '../../../../outbound/messages/errors';
import { renderNotice } from '../../../../outbound/messages/help';
import { ephemeralReply } from '../../reply';
import { parseClick, type ButtonArgs } from './payload';

const HomeValue = z.object({ instance: z.string().min(1).max(100), channel: z.string().regex(/^[CGD][A-Z0-9]{2,}$/).optional() });

type Kind = 'now' | 'list';

function parseValue(raw: string): z.infer<typeof HomeValue> | undefined {
  try {
    const parsed = HomeValue.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/**
 * **Back up now** and **List** of the Home tab and of the `status` overview: the same use cases
 * and access rules as `/pgbackup now|list`. A click on the Home tab comes from no channel; it
 * acts in the person's DM with the app, whose id the button carries.
 */
function homeButton(deps: Deps, kind: Kind) {
  const action = kind === 'now' ? 'home_backup_now' : 'home_list';
  return async (args: ButtonArgs): Promise<void> => {
    await args.ack();
    const click = parseClick(deps, args);
    const value = click ? parseValue(click.value) : undefined;
    // A click on a message names its channel; one on the Home tab names none.
    const channel = click && click.origin.channel !== '' ? click.origin.channel : value?.channel;
    if (!click || !value || !channel) {
      deps.metrics.actions.inc({ action, outcome: 'invalid' });
      return;
    }
    const { instance } = value;
    const user = click.origin.user;
    const origin: Origin = { user, channel, reply: ephemeralReply({ respond: args.respond, client: args.client, channel, user, logger: deps.logger }) };
    const verdict = await deps.access.check({ user, channel, permission: kind === 'now' ? 'operate' : 'use', action: kind, instance });
    if (!verdict.allowed) {
      await origin.reply(renderRefusal(verdict, kind === 'now' ? 'start backups' : 'list backups'));
      deps.metrics.actions.inc({ action, outcome: 'refused' });
      return;
    }
    const problem = checkInstance(instance, deps.config);
    if (problem) {
      await origin.reply(renderNotice(`:warning: ${problem}`));
      deps.metrics.actions.inc({ action, outcome: 'refused' });
      return;
    }
    let outcome: string;
    try {
      outcome = kind === 'now' ? await triggerBackup(deps, origin, instance) : (await listBackups(deps, origin, instance)) ? 'ok' : 'error';
    } catch (err) {
      deps.logger.error({ err, action }, 'Home button failed');
      await origin.reply(renderInternalError(err, kind === 'now' ? 'start the backup' : 'list the backups'));
      outcome = 'error';
    }
    deps.metrics.actions.inc({ action, outcome });
  };
}

export const homeBackupHandler = (deps: Deps) => homeButton(deps, 'now');
export const homeListHandler = (deps: Deps) => homeButton(deps, 'list');
