import type { Deps } from '../../../../use-cases/deps';
import { approveRestore, rejectRestore, withdrawRestore, type CardClick, type DecisionOutcome, type StartRestore } from '../../../../use-cases/restores/decide';
import { renderInternalError } from '../../../../outbound/messages/errors';
import { parseClick, RequestId, type ButtonArgs } from './payload';

type Decide = (deps: Deps, click: CardClick, id: number) => Promise<DecisionOutcome>;

/**
 * Approve / Reject / Withdraw on a restore card. The ack comes first; every rule is then
 * checked against the stored request by the use case, never against the card's content —
 * including that the clicked message is that request's card.
 */
function decision(deps: Deps, name: string, decide: Decide) {
  return async (args: ButtonArgs): Promise<void> => {
    await args.ack();
    const click = parseClick(deps, args);
    const id = RequestId.safeParse(click?.value);
    if (!click || !id.success) {
      deps.metrics.actions.inc({ action: name, outcome: 'invalid' });
      return;
    }
    deps.logger.info({ action: name, user: click.origin.user, request: id.data }, 'restore decision');
    let outcome: string;
    try {
      outcome = await decide(deps, { ...click.origin, messageTs: click.messageTs }, id.data);
    } catch (err) {
      // E.g. the state file locked by another process: the person who clicked still gets an answer.
      deps.logger.error({ err, action: name, request: id.data }, 'restore decision failed');
      await click.origin.reply(renderInternalError(err, `record your ${name} of restore request #${id.data}`));
      outcome = 'error';
    }
    deps.metrics.actions.inc({ action: name, outcome });
  };
}

export const approveHandler = (deps: Deps, start: StartRestore) =>
  decision(deps, 'approve', (d, origin, id) => approveRestore(d, origin, id, start));
export const rejectHandler = (deps: Deps) => decision(deps, 'reject', rejectRestore);
export const withdrawHandler = (deps: Deps) => decision(deps, 'withdraw', withdrawRestore);
