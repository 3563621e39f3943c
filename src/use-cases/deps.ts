import type { Logger } from 'pino';
import type { AccessControl } from './access/access';
import type { BackupManagerApi } from '../ports/backup-manager/api';
import type { Config } from '../config';
import type { Permalinks } from './restores/permalinks';
import type { Metrics } from '../outbound/metrics';
import type { SlackMessage } from '../outbound/messages/blocks';
import type { InstanceReader } from '../reader/instance-reader';
import type { Outbox } from '../outbound/slack/outbox';
import type { Store } from '../ports/store';
import type { HomeService } from './home/home-service';
import type { Poller } from './tracking/poller';
import type { ViewsPort } from './restores/restore-modal';

/** The ports every use case runs over; tests build them without Slack or HTTP. */
export interface Deps {
  config: Config;
  api: BackupManagerApi;
  /** The one reader of instance state: use cases read through it, never through `api`. */
  reader: InstanceReader;
  store: Store;
  outbox: Outbox;
  poller: Poller;
  logger: Logger;
  metrics: Metrics;
  clock: () => number;
  /** Links to restore cards for the NOTIFY_CHANNEL audit message; absent, it goes without. */
  permalinks?: Permalinks;
  /** How long a command waits on the Backup Manager, all its calls together (default 15 s). */
  managerDeadlineMs?: number;
  /** Who may do what, where (ALLOWED_CHANNELS, OPERATORS, RESTORE_APPROVERS). */
  access: AccessControl;
  /** Opens modals (views.open). */
  views: ViewsPort;
  /**
   * Several replicas: the leadership epoch while this process leads, else null; effects only
   * the leader may have (a restore POST) are fenced by it in the store. Absent: one bot, epoch 0.
   */
  leaderEpoch?: () => number | null;
  /** The App Home and the overview of `/pgbackup status`; absent in use-case tests. */
  home?: HomeService;
}

/** Says something to one person only (an ephemeral message). */
export type Reply = (message: SlackMessage) => Promise<void>;

/** Who asked, where: what every use case started from Slack knows about its origin. */
export interface Origin {
  user: string;
  channel: string;
  reply: Reply;
}
