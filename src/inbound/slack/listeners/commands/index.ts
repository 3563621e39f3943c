import type { App } from '@slack/bolt';
import type { Deps } from '../../../../use-cases/deps';
import { pgbackupCommand } from './pgbackup';

export function registerCommands(app: App, deps: Deps): void {
  app.command('/pgbackup', pgbackupCommand(deps));
}
