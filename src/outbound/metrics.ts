import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Prometheus metrics of the bot; one registry per process (tests make their own). */
export class Metrics {
  readonly registry = new Registry();
  readonly commands = new Counter({
    name: 'pgbackup_commands_total',
    help: 'Slash commands by subcommand and outcome',
    labelNames: ['command', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly actions = new Counter({
    name: 'pgbackup_actions_total',
    help: 'Button clicks by action and outcome',
    labelNames: ['action', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly managerRequests = new Histogram({
    name: 'pgbackup_backup_manager_request_duration_seconds',
    help: 'Backup Manager requests by route, method and status',
    labelNames: ['route', 'method', 'status'] as const,
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly slackCalls = new Counter({
    name: 'pgbackup_slack_calls_total',
    help: 'Slack Web API calls by method and outcome',
    labelNames: ['method', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly slackRateLimited = new Counter({
    name: 'pgbackup_slack_rate_limited_total',
    help: 'Slack answers with HTTP 429',
    labelNames: ['method'] as const,
    registers: [this.registry],
  });
  readonly slackUnverifiedReposts = new Counter({
    name: 'pgbackup_slack_unverified_reposts_total',
    help: 'Unanswered Slack posts sent again without being able to check whether they had landed (possible duplicates)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly trackedTasks = new Gauge({
    name: 'pgbackup_tracked_tasks',
    help: 'Active tracked backup tasks by status',
    labelNames: ['status'] as const,
    registers: [this.registry],
  });
  readonly pendingRestores = new Gauge({
    name: 'pgbackup_pending_restore_requests',
    help: 'Restore requests waiting for approval',
    registers: [this.registry],
  });
  readonly leader = new Gauge({
    name: 'pgbackup_leader',
    help: '1 while this replica is the leader (tracks backups, runs restores, sends Slack messages), else 0',
    registers: [this.registry],
  });
  readonly outboxDepth = new Gauge({
    name: 'pgbackup_outbox_queue_depth',
    help: 'Slack messages waiting to be sent',
    registers: [this.registry],
  });

  readonly lastSuccess = new Gauge({
    name: 'pgbackup_last_success_timestamp_seconds',
    help: 'When the newest done backup of a watched instance was taken (Unix seconds)',
    labelNames: ['instance'] as const,
    registers: [this.registry],
  });
  readonly staleInstances = new Gauge({
    name: 'pgbackup_stale_instances',
    help: 'Watched instances with no done backup within STALE_AFTER_HOURS',
    registers: [this.registry],
  });

  constructor(options: { defaults?: boolean } = {}) {
    if (options.defaults) collectDefaultMetrics({ register: this.registry, prefix: 'pgbackup_' });
  }

  /** Reads gauges from state at scrape time, so they can not drift from it. */
  collect: ((m: Metrics) => void) | undefined;

  /** The Prometheus text exposition. */
  async render(): Promise<string> {
    this.collect?.(this);
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
