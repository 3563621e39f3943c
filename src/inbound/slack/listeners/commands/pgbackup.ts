import type { AllMiddlewareArgs, SlackCommandMiddlewareArgs } from '@slack/bolt';
import { z } from 'zod';
import { listBackups } from '../../../../use-cases/backups/list';
import { triggerBackup } from '../../../../use-cases/backups/trigger';
import type { Deps } from '../../../../use-cases/deps';
import { requestRestore } from '../../../../use-cases/restores/request';
import { openRestoreModal } from '../../../../use-cases/restores/restore-modal';
import { parseCommand } from '../../command-parser';
import { renderHelp, renderNotice, renderUsageError } from '../../../../outbound/messages/help';
import { renderInternalError } from '../../../../outbound/messages/errors';
import { renderRefusal } from '../../../../outbound/messages/access';
import { code } from '../../../../outbound/messages/format';
import { renderOverviewMessage } from '../../../../outbound/messages/home';
import { ephemeralReply } from '../../reply';

/** The fields of Slack's slash-command payload the bot reads, checked at the edge. */
const CommandPayload = z.object({
  text: z.string().default(''),
  user_id: z.string().min(1),
  channel_id: z.string().min(1),
  trigger_id: z.string().min(1).max(200).optional(),
});

/**
 * Parses, authorises and acks within Slack's 3 seconds; the work (which may wait on the
 * Backup Manager) runs after the ack and answers through the response_url or the thread.
 */
export function pgbackupCommand(deps: Deps) {
  return async ({ command, ack, respond, client, logger: _boltLogger }: SlackCommandMiddlewareArgs & AllMiddlewareArgs): Promise<void> => {
    const { config, metrics, logger } = deps;
    const payload = CommandPayload.safeParse(command);
    if (!payload.success) {
      await ack({ response_type: 'ephemeral', text: 'This command arrived incomplete; please try again.' });
      metrics.commands.inc({ command: 'malformed', outcome: 'invalid' });
      return;
    }
    const { text, user_id: user, channel_id: channel } = payload.data;
    const parsed = parseCommand(text, { defaultInstance: config.defaultInstance, allowedInstances: config.allowedInstances });
    const count = (outcome: string) => metrics.commands.inc({ command: parsed.kind, outcome });

    if (parsed.kind === 'help') {
      await ack({ response_type: 'ephemeral', ...renderHelp(config.defaultInstance) });
      return count('ok');
    }
    if (parsed.kind === 'invalid') {
      await ack({ response_type: 'ephemeral', ...renderUsageError(parsed.problem, config.defaultInstance) });
      return count('invalid');
    }

    if (parsed.kind === 'overview') {
      const verdict = await deps.access.check({ user, channel, permission: 'use', action: 'status' });
      if (!verdict.allowed) {
        await ack({ response_type: 'ephemeral', ...renderRefusal(verdict, 'see the backups') });
        return count('refused');
      }
      // From what is already known (the reader's latest views, the store): answered within the ack.
      await ack({ response_type: 'ephemeral', ...(deps.home ? renderOverviewMessage(deps.home.overview()) : renderNotice('The overview is not available.')) });
      return count(deps.home ? 'ok' : 'error');
    }

    // Before the ack, so a refused `now` is never told "asking the Backup Manager"; group
    // lookups are bounded well inside Slack's 3 seconds.
    const verdict = await deps.access.check({ user, channel, permission: parsed.kind === 'list' ? 'use' : 'operate', action: parsed.kind, instance: parsed.instance });
    if (!verdict.allowed) {
      await ack({ response_type: 'ephemeral', ...renderRefusal(verdict, parsed.kind === 'list' ? 'list backups' : parsed.kind === 'now' ? 'start backups' : 'request restores') });
      return count('refused');
    }

    const origin = { user, channel, reply: ephemeralReply({ respond, client, channel, user, logger }) };
    logger.info({ command: parsed.kind, user, channel, instance: parsed.instance }, 'command');
    let acked = false;
    try {
      switch (parsed.kind) {
        case 'now':
          await ack({ response_type: 'ephemeral', ...renderNotice(`:hourglass_flowing_sand: Asking the Backup Manager for a backup of ${code(parsed.instance)}…`) });
          acked = true;
          return count(await triggerBackup(deps, origin, parsed.instance));
        case 'list':
          await ack({ response_type: 'ephemeral', ...renderNotice(`:hourglass_flowing_sand: Asking the Backup Manager for the backups of ${code(parsed.instance)}…`) });
          acked = true;
          return count((await listBackups(deps, origin, parsed.instance)) ? 'ok' : 'error');
        case 'restore':
          await ack({
            response_type: 'ephemeral',
            ...renderNotice(`:hourglass_flowing_sand: Asking the Backup Manager about backup ${code(parsed.backup.kind === 'id' ? String(parsed.backup.id) : parsed.backup.name)} of ${code(parsed.instance)}…`),
          });
          acked = true;
          // No reason where one is required: the modal asks for it (and shows the impact).
          if (parsed.reason === '' && config.restoreReason === 'required') {
            const triggerId = payload.data.trigger_id;
            // Without a trigger_id no modal can open; the request use case refuses the reasonless request.
            if (triggerId !== undefined) return count(await openRestoreModal(deps, origin, { instance: parsed.instance, backup: parsed.backup, triggerId }));
          }
          return count(await requestRestore(deps, origin, { instance: parsed.instance, backup: parsed.backup, reason: parsed.reason }));
      }
    } catch (err) {
      // Whoever typed the command is waiting: an error nobody anticipated (e.g. the state file
      // locked by another process) still gets an answer, and never its text or stack.
      logger.error({ err, command: parsed.kind, instance: parsed.instance }, 'command failed');
      if (!acked) throw err;
      await origin.reply(renderInternalError(err, `run \`/pgbackup ${parsed.kind}\``));
      count('error');
    }
  };
}
