import type { App } from '@slack/bolt';
import type { Deps } from '../../../../use-cases/deps';
import type { StartRestore } from '../../../../use-cases/restores/decide';
import { RESTORE_OPEN_ACTION } from '../../../../outbound/messages/backup-list';
import { APPROVE_ACTION, REJECT_ACTION, WITHDRAW_ACTION } from '../../../../outbound/messages/restore-card';
import { HOME_BACKUP_ACTION, HOME_LIST_ACTION } from '../../../../outbound/messages/home';
import { approveHandler, rejectHandler, withdrawHandler } from './restore-decisions';
import { restoreOpenHandler } from './restore-open';
import { homeBackupHandler, homeListHandler } from './home-buttons';

export function registerActions(app: App, deps: Deps, start: StartRestore): void {
  app.action({ type: 'block_actions', action_id: RESTORE_OPEN_ACTION }, restoreOpenHandler(deps));
  app.action({ type: 'block_actions', action_id: APPROVE_ACTION }, approveHandler(deps, start));
  app.action({ type: 'block_actions', action_id: REJECT_ACTION }, rejectHandler(deps));
  app.action({ type: 'block_actions', action_id: WITHDRAW_ACTION }, withdrawHandler(deps));
  app.action({ type: 'block_actions', action_id: HOME_BACKUP_ACTION }, homeBackupHandler(deps));
  app.action({ type: 'block_actions', action_id: HOME_LIST_ACTION }, homeListHandler(deps));
}
