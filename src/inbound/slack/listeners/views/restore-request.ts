import type { AllMiddlewareArgs, SlackViewMiddlewareArgs, ViewSubmitAction } from '@slack/bolt';
import { z } from 'zod';
import type { Deps } from '../../../../use-cases/deps';
import { submitRestoreModal, validateRestoreModal } from '../../../../use-cases/restores/restore-modal';
import { renderInternalError } from '../../../../outbound/messages/errors';
import { CONFIRM_BLOCK, CONFIRM_INPUT, REASON_BLOCK, REASON_INPUT } from '../../../../outbound/messages/restore-modal';
import { ephemeralReply } from '../../reply';

type SubmissionArgs = SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs;

const Input = z.object({ value: z.string().max(3000).nullish() }).passthrough();
/** The fields of a view_submission the bot reads, checked at the edge. */
const SubmissionBody = z.object({
  user: z.object({ id: z.string().min(1) }),
  view: z.object({
    private_metadata: z.string().max(3000).default(''),
    state: z.object({ values: z.record(z.string(), z.record(z.string(), Input)) }),
  }),
});

/**
 * The Restore… modal submitted: field errors go back into the modal (`response_action:
 * errors`); a valid form closes it, and the request is made in the channel it came from.
 */
export function restoreRequestSubmission(deps: Deps) {
  return async (args: SubmissionArgs): Promise<void> => {
    const parsed = SubmissionBody.safeParse(args.body);
    if (!parsed.success) {
      deps.logger.warn({ issues: parsed.error.issues.length }, 'unreadable view_submission payload');
      await args.ack({ response_action: 'errors', errors: { [REASON_BLOCK]: 'This form arrived incomplete; please try again.' } });
      deps.metrics.actions.inc({ action: 'restore_modal', outcome: 'invalid' });
      return;
    }
    const { user, view } = parsed.data;
    const verdict = validateRestoreModal(
      {
        metadata: view.private_metadata,
        reason: view.state.values[REASON_BLOCK]?.[REASON_INPUT]?.value,
        confirmation: view.state.values[CONFIRM_BLOCK]?.[CONFIRM_INPUT]?.value,
      },
      { reasonRequired: deps.config.restoreReason === 'required' },
    );
    if (!verdict.ok) {
      await args.ack({ response_action: 'errors', errors: verdict.errors });
      deps.metrics.actions.inc({ action: 'restore_modal', outcome: 'invalid' });
      return;
    }
    await args.ack();
    const { channel } = verdict.request;
    // No response_url comes with a modal: answers go as ephemerals in the channel it came from.
    const origin = { user: user.id, channel, reply: ephemeralReply({ respond: undefined, client: args.client, channel, user: user.id, logger: deps.logger }) };
    deps.logger.info({ action: 'restore_modal', user: user.id, channel, instance: verdict.request.instance }, 'restore modal submitted');
    let outcome: string;
    try {
      outcome = await submitRestoreModal(deps, origin, verdict.request);
    } catch (err) {
      deps.logger.error({ err, action: 'restore_modal' }, 'restore request failed');
      await origin.reply(renderInternalError(err, `request the restore of backup ${verdict.request.backupId}`));
      outcome = 'error';
    }
    deps.metrics.actions.inc({ action: 'restore_modal', outcome });
  };
}
