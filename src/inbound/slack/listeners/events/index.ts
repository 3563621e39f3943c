import type { App } from '@slack/bolt';
import type { Deps } from '../../../../use-cases/deps';
import { appHomeOpenedHandler } from './app-home-opened';

export function registerEvents(app: App, deps: Deps): void {
  if (!deps.home) return;
  app.event('app_home_opened', appHomeOpenedHandler(deps.home, deps.logger));
}
