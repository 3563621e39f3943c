import { z } from 'zod';
import { BlockSchema } from '../fake-slack/types';
import { appHomeOpenedBody, homeBlockActionsBody } from '../slack-requests';
import { findButton } from './find-button';
import { deliver, type InteractionDeps, type InteractionOutcome } from './interactions';

export const HomeUserInput = z.object({ user: z.string().min(1) });
export const HomeActionInput = z.object({
  user: z.string().min(1),
  actionId: z.string().min(1),
  blockId: z.string().min(1).optional(),
});

/** The page's Home entry: a signed app_home_opened for the person at the keyboard. */
export async function openHome(deps: InteractionDeps, input: z.infer<typeof HomeUserInput>): Promise<InteractionOutcome> {
  const user = deps.fakeSlack.workspace.findUser(input.user);
  if (user === undefined || user.isBot) return { httpStatus: 400, ok: false, error: `unknown user ${input.user}` };
  const result = await deliver(deps, appHomeOpenedBody({ user: user.id, teamId: deps.teamId ?? deps.fakeSlack.workspace.team.id }), 'application/json');
  if ('failure' in result) return { httpStatus: 502, ok: false, error: result.failure };
  if (result.status !== 200) return { httpStatus: 502, ok: false, error: 'dispatch_failed', botStatus: result.status };
  return { httpStatus: 200, ok: true, botStatus: result.status };
}

/** A click on a button of the person's published Home: only a button that is there can be clicked. */
export async function clickHome(deps: InteractionDeps, input: z.infer<typeof HomeActionInput>): Promise<InteractionOutcome> {
  const fake = deps.fakeSlack;
  const user = fake.workspace.findUser(input.user);
  if (user === undefined || user.isBot) return { httpStatus: 400, ok: false, error: `unknown user ${input.user}` };
  const blocks = z.array(BlockSchema).safeParse(fake.views.home(user.id)?.blocks);
  if (!blocks.success) return { httpStatus: 404, ok: false, error: 'home_not_published' };
  const button = findButton(blocks.data, input.actionId, input.blockId);
  if (button === undefined) return { httpStatus: 404, ok: false, error: 'button_not_found' };
  const body = homeBlockActionsBody({ user: { id: user.id, name: user.name }, viewId: `VH${user.id}`, action: button, teamId: deps.teamId ?? fake.workspace.team.id });
  const result = await deliver(deps, body);
  if ('failure' in result) return { httpStatus: 502, ok: false, error: result.failure };
  if (result.status !== 200) return { httpStatus: 502, ok: false, error: 'dispatch_failed', botStatus: result.status };
  return { httpStatus: 200, ok: true, botStatus: result.status };
}
