import type { RefHandler } from '../../outbound/slack/outbox';
import type { Deps } from '../deps';
import { refreshAuditMessage } from './publish';

/** The card landed: its ts is what decisions edit, and its link goes into the audit message. */
export function restoreCardPosted(deps: Deps): RefHandler {
  return (id, ts) => {
    if (!ts) return;
    deps.store.restores.setCardTs(id, ts);
    const req = deps.store.restores.get(id);
    if (req) deps.permalinks?.request(req.channel, ts, () => refreshAuditMessage(deps, id));
  };
}

/** The audit message landed: edits held back while it was on its way can go out now. */
export function restoreAuditPosted(deps: Deps): RefHandler {
  return (id, ts) => {
    if (ts) refreshAuditMessage(deps, id);
  };
}

/** The follow-up landed: its ts is what progress edits go to, also after a restart. */
export function restoreFollowupPosted(deps: Pick<Deps, 'store'>): RefHandler {
  return (id, ts) => {
    if (ts) deps.store.restores.setFollowupTs(id, ts);
  };
}
