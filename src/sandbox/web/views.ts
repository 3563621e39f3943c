import { z } from 'zod';
import { viewSubmissionBody } from '../slack-requests';
import { deliver, type InteractionDeps, type InteractionOutcome } from './interactions';

export const ViewSubmitInput = z.object({
  user: z.string().min(1),
  viewId: z.string().min(1),
  /** block_id → action_id → typed text (null for an empty field), as Slack reports view.state. */
  values: z.record(z.string().max(255), z.record(z.string().max(255), z.string().max(3000).nullable())),
});

export const ViewCloseInput = z.object({ user: z.string().min(1), viewId: z.string().min(1) });

/** What a view_submission ack may say (Slack's response_action); anything else is ignored. */
const SubmissionAck = z.looseObject({
  response_action: z.enum(['errors', 'update', 'push', 'clear']).optional(),
  errors: z.record(z.string(), z.string()).optional(),
  view: z.record(z.string(), z.unknown()).optional(),
});

/**
 * The page's Submit of a modal: a signed view_submission to the bot, then what Slack does
 * with the ack: field errors keep the modal open and are shown under their fields; an empty
 * ack (or `clear`) closes it; `update` replaces it.
 */
export async function submitView(deps: InteractionDeps, input: z.infer<typeof ViewSubmitInput>): Promise<InteractionOutcome & { errors?: Record<string, string> }> {
  const fake = deps.fakeSlack;
  const stored = fake.views.get(input.viewId);
  const user = fake.workspace.findUser(input.user);
  if (stored === undefined || user === undefined || stored.user !== user.id) return { httpStatus: 404, ok: false, error: 'view_not_found' };
  const view = stored.view as { callback_id?: string; private_metadata?: string; blocks?: unknown[]; title?: unknown };
  const body = viewSubmissionBody({
    user: { id: user.id, name: user.name },
    view: { id: stored.id, ...view },
    values: input.values,
    teamId: deps.teamId ?? fake.workspace.team.id,
    teamDomain: fake.workspace.team.domain,
  });
  const result = await deliver(deps, body);
  if ('failure' in result) return { httpStatus: 502, ok: false, error: result.failure };
  if (result.status !== 200) return { httpStatus: 502, ok: false, error: 'dispatch_failed', botStatus: result.status };
  let ack: z.infer<typeof SubmissionAck> = {};
  if (result.body.trim() !== '') {
    try {
      ack = SubmissionAck.parse(JSON.parse(result.body));
    } catch {
      // Slack shows "We had some trouble connecting" and keeps the modal open.
      return { httpStatus: 502, ok: false, error: 'invalid_ack', botStatus: result.status };
    }
  }
  if (ack.response_action === 'errors') return { httpStatus: 200, ok: true, botStatus: result.status, errors: ack.errors ?? {} };
  if (ack.response_action === 'update' && ack.view !== undefined) fake.views.update(stored.id, ack.view);
  else fake.views.close(stored.id);
  return { httpStatus: 200, ok: true, botStatus: result.status };
}

/** Cancel or Escape: Slack closes the modal (the bot asked for no view_closed event). */
export function closeView(deps: InteractionDeps, input: z.infer<typeof ViewCloseInput>): boolean {
  const stored = deps.fakeSlack.views.get(input.viewId);
  if (stored === undefined || stored.user !== input.user) return false;
  deps.fakeSlack.views.close(stored.id);
  return true;
}
