import type { App } from '@slack/bolt';
import type { Deps } from '../../../../use-cases/deps';
import { RESTORE_MODAL_CALLBACK } from '../../../../outbound/messages/restore-modal';
import { restoreRequestSubmission } from './restore-request';

export function registerViews(app: App, deps: Deps): void {
  app.view({ type: 'view_submission', callback_id: RESTORE_MODAL_CALLBACK }, restoreRequestSubmission(deps));
}
