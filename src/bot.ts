import type { Server } from 'node:http';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { BackupManagerApi } from './ports/backup-manager/api';
import { BackupManagerClient, type BackupManagerTimeouts } from './ports/backup-manager/client';
import { GenerationClient } from './ports/backup-manager/generation';
import { NotFoundError, UnavailableError } from './domain/manager-errors';
import { secretsOf, type Config } from './config';
import type { Deps } from './use-cases/deps';
import { Metrics } from './outbound/metrics';
import { healthRoute, metricsRoute, readinessRoute, type PartState } from './inbound/http/routes';
import { createHttpServer, pathOf, type Route } from './inbound/http/server';
import { guardSlackEvents } from './inbound/slack/http-receiver';
import { redactText } from './logger';
import { IntentReconciler } from './use-cases/backups/reconcile-intents';
import { createAccessControl, rulesOf } from './use-cases/access/access';
import { GroupResolver } from './use-cases/access/groups';
import { expireDue } from './use-cases/restores/decide';
import { Permalinks } from './use-cases/restores/permalinks';
import { restoreAuditPosted, restoreCardPosted, restoreFollowupPosted } from './use-cases/restores/posted';
import { RestoreRunner } from './use-cases/restores/runner';
import { createSlackApp, createSlackClient, EVENTS_PATH, type SlackRuntime } from './inbound/slack/app';
import { Outbox } from './outbound/slack/outbox';
import { homePort, usergroupMembersPort, viewsPort } from './outbound/slack/web-ports';
import { HomeService } from './use-cases/home/home-service';
import { hostname } from 'node:os';
import { isPostgresUrl, openStore, type Store } from './ports/store';
import { SoleLeadership, type Leadership } from './ports/leadership/leadership';
import { PgLeadership, type PgLeadershipOptions } from './ports/leadership/pg-leadership';
import { FailureWatch } from './use-cases/tracking/failure-watch';
import { Poller } from './use-cases/tracking/poller';
import { StalenessWatch } from './use-cases/tracking/staleness';
import { taskParentPosted } from './use-cases/tracking/parent-posted';
import { InstanceReader } from './reader/instance-reader';

/** How long the readiness probe waits for a lock on the state file (it blocks the event loop meanwhile). */
const READINESS_STORE_BUSY_MS = 200;

export interface BotOptions {
  config: Config;
  logger: Logger;
  /** Routes served before the bot's own (the sandbox's page and fake Slack). */
  extraRoutes?: Route[];
  /** Listen address; loopback by default in tests, all interfaces in production. */
  host?: string;
  clock?: () => number;
  api?: BackupManagerApi;
  /** Backoff of Backup Manager reads (tests shorten it). */
  managerRetry?: { retries?: number; minDelayMs?: number; maxDelayMs?: number };
  /** Timeouts of Backup Manager requests, and the deadline a command waits on it (tests shorten them; defaults: DEFAULT_TIMEOUTS). */
  managerTimeouts?: BackupManagerTimeouts;
  /** How long a store write waits for a lock held elsewhere (default 5000 ms; tests shorten it). */
  storeBusyTimeoutMs?: number;
  /** Socket Mode: how long the start waits for the first connection (default SOCKET_CONNECT_TIMEOUT_MS). */
  slackConnectTimeoutMs?: number;
  /** Shortest spacing of Home tab publishes per person (default HOME_MIN_INTERVAL_MS, 5 s). */
  homeMinIntervalMs?: number;
  /** Several replicas: leadership timings (tests shorten them). */
  leadership?: Partial<Pick<PgLeadershipOptions, 'retryMs' | 'heartbeatMs' | 'heartbeatTimeoutMs' | 'leaseMs'>>;
  /**
   * This replica was the leader and lost it (its lock connection failed). It has stopped acting
   * already (fenced); the default stops the bot. main passes its own: stop, then exit with
   * status 1 so that the restart rejoins as a follower, the way Kubernetes' own controllers do.
   */
  onLeadershipLost?: () => void;
}

/** The NOTIFY channel on which replicas tell the leader that work is waiting in the store. */
const WORK_CHANNEL = 'pgbackup_work';

export interface Bot {
  server: Server;
  port: number;
  url: string;
  deps: Deps;
  runner: RestoreRunner;
  watch: FailureWatch;
  staleness: StalenessWatch;
  home: HomeService;
  slack: SlackRuntime;
  /** Graceful: stop taking work, drain the outbox (bounded), stop followers, close the store. */
  stop(options?: { drainMs?: number }): Promise<void>;
}

/** Wires config → store → clients → use cases → Slack and HTTP, and starts everything. */
export async function startBot(options: BotOptions): Promise<Bot> {
  const { config, logger } = options;
  if (!config.slack || !config.backupManager) throw new Error('startBot needs Slack and Backup Manager settings');
  const clock = options.clock ?? Date.now;
  const metrics = new Metrics({ defaults: true });
  const store: Store = openStore(config.stateDb, {
    ...(options.storeBusyTimeoutMs === undefined ? {} : { busyTimeoutMs: options.storeBusyTimeoutMs }),
    ...(config.stateDbPassword === undefined ? {} : { password: config.stateDbPassword }),
  });
  // One bot on SQLite leads alone; replicas on PostgreSQL elect one leader (a session advisory lock).
  const replicated = isPostgresUrl(config.stateDb);
  const leadership: Leadership = replicated
    ? new PgLeadership({
        connectionString: config.stateDb,
        ...(config.stateDbPassword === undefined ? {} : { password: config.stateDbPassword }),
        holder: `${hostname()}:${process.pid}`,
        logger: logger.child({ component: 'leadership' }),
        listenChannels: [WORK_CHANNEL],
        // A follower tries for the lock often enough to take over within two poll intervals.
        retryMs: Math.max(50, Math.min(1000, Math.floor(config.pollIntervalMs / 2))),
        ...options.leadership,
      })
    : new SoleLeadership();
  /** Tells the leader that a follower stored work for it; it also finds it on its next round. */
  const notify = replicated ? store.db.prepare(`SELECT pg_notify('${WORK_CHANNEL}', '')`) : undefined;
  const notifyLeader = (): void => {
    if (!notify) return;
    try {
      notify.get();
    } catch (err) {
      logger.warn({ err }, 'could not notify the leader; it picks the work up on its next round');
    }
  };
  // BACKUP_MANAGER_API: one port over either route generation; `auto` probes (GETs only) before the first call.
  let generations: GenerationClient | undefined;
  let api: BackupManagerApi;
  if (options.api) {
    api = options.api;
  } else {
    const core = new BackupManagerClient({
      baseUrl: config.backupManager.url,
      username: config.backupManager.username,
      password: config.backupManager.password,
      ...(config.backupManager.caFile ? { ca: readFileSync(config.backupManager.caFile, 'utf8') } : {}),
      logger: logger.child({ component: 'backup-manager' }),
      ...(options.managerRetry ? { retry: options.managerRetry } : {}),
      ...(options.managerTimeouts ? { timeouts: options.managerTimeouts } : {}),
      onRequest: (i) => metrics.managerRequests.observe({ route: i.route, method: i.method, status: String(i.status) }, i.durationMs / 1000),
    });
    generations = new GenerationClient({ mode: config.backupManagerApi, core, probeInstance: config.defaultInstance, logger });
    api = generations;
  }

  const web = createSlackClient(config.slack, logger, config.slackTimeoutMs);
  const chat = {
    chat: {
      postMessage: (args: Record<string, unknown>) => web.chat.postMessage(args as never),
      update: (args: Record<string, unknown>) => web.chat.update(args as never),
    },
    conversations: {
      history: (args: Record<string, unknown>) => web.conversations.history(args as never),
      replies: (args: Record<string, unknown>) => web.conversations.replies(args as never),
    },
  };
  const outbox = new Outbox({
    chat,
    store,
    logger: logger.child({ component: 'outbox' }),
    clock,
    metrics,
    channelIntervalMs: config.channelIntervalMs,
    callTimeoutMs: config.slackTimeoutMs,
    epoch: () => leadership.epoch(),
    sending: !replicated,
    onJobsForLeader: notifyLeader,
  });
  const reader = new InstanceReader({
    api,
    logger: logger.child({ component: 'reader' }),
    activeIntervalMs: config.pollIntervalMs,
    watchIntervalMs: config.watchIntervalMs,
    concurrency: config.managerConcurrency,
    clock,
  });
  const poller = new Poller({ reader, store, outbox, logger: logger.child({ component: 'poller' }), clock, notifyChannel: config.notifyChannel });
  const permalinks = new Permalinks(
    async (channel, ts) => (await web.chat.getPermalink({ channel, message_ts: ts })).permalink,
    logger.child({ component: 'permalinks' }),
  );
  const groups = new GroupResolver(usergroupMembersPort(web), clock, logger.child({ component: 'access' }));
  const access = createAccessControl({ rules: () => rulesOf(config), groups, audit: store.audit, clock, logger: logger.child({ component: 'access' }) });
  const deps: Deps = {
    config,
    api,
    reader,
    store,
    outbox,
    poller,
    logger,
    metrics,
    clock,
    permalinks,
    managerDeadlineMs: options.managerTimeouts?.deadline,
    access,
    views: viewsPort(web),
    leaderEpoch: () => leadership.epoch(),
  };
  // The App Home reads nothing itself: it keeps the views the watch cadence brings.
  const home = new HomeService({
    reader,
    api,
    store,
    config,
    permalinks,
    logger: logger.child({ component: 'home' }),
    clock,
    publish: homePort(web),
    // A follower records who opened their Home; the leader, which has the reads, publishes.
    notifyLeader,
    ...(options.homeMinIntervalMs === undefined ? {} : { minIntervalMs: options.homeMinIntervalMs }),
  });
  deps.home = home;
  const secrets = secretsOf(config);
  const runner = new RestoreRunner(deps, {
    logFile: config.logTailFile,
    logCommand: config.logTailCommand,
    logLabel: config.logTailLabel,
    redact: (s) => redactText(s, secrets),
    timeoutMs: config.restoreTimeoutMs,
    checkIntervalMs: config.pollIntervalMs,
    editIntervalMs: Math.max(config.channelIntervalMs, 250),
  });
  const watch = new FailureWatch({
    reader,
    store,
    outbox,
    logger: logger.child({ component: 'failure-watch' }),
    instances: config.watchInstances,
    intervalMs: config.watchIntervalMs,
    notifyChannel: config.notifyChannel,
    clock,
    outageExpected: () => runner.pgRestoreInProgress(),
  });
  // Subscribes to the same instances at the same cadence as the failure watch: no extra reads.
  const staleness = new StalenessWatch({
    reader,
    api,
    store,
    outbox,
    logger: logger.child({ component: 'staleness' }),
    instances: config.watchInstances,
    staleAfterHours: config.staleAfterHours,
    notifyChannel: config.notifyChannel,
    clock,
  });

  outbox.onRef('task-parent', taskParentPosted(deps));
  outbox.onRef('restore-card', restoreCardPosted(deps));
  outbox.onRef('restore-audit', restoreAuditPosted(deps));
  outbox.onRef('restore-followup', restoreFollowupPosted(deps));

  metrics.collect = (m) => {
    m.trackedTasks.reset();
    for (const [status, n] of Object.entries(store.tasks.activeCountsByStatus())) m.trackedTasks.set({ status }, n);
    m.pendingRestores.set(store.restores.pendingCount());
    m.outboxDepth.set(outbox.depth());
    m.lastSuccess.reset();
    for (const { instance, at } of staleness.lastSuccesses()) m.lastSuccess.set({ instance }, Math.floor(at / 1000));
    m.staleInstances.set(staleness.staleCount());
  };

  const identity = await web.auth.test().then(
    (r) => ({ botId: r.bot_id, botUserId: r.user_id }),
    (err: unknown) => {
      logger.error({ slackError: (err as { data?: { error?: string } }).data?.error ?? (err as Error).message }, 'Slack auth.test failed at start; see /readyz');
      return {};
    },
  );
  // An approval taken by a follower starts the restore through the store: the leader picks it up.
  const slack = createSlackApp(config.slack, logger, deps, (req) => (leadership.role() === 'leader' ? runner.start(req) : notifyLeader()), identity);

  const checkManager = async (): Promise<PartState> => {
    try {
      await reader.readNow(config.defaultInstance, { retry: false });
      return 'ok';
    } catch (err) {
      if (err instanceof NotFoundError) return 'ok';
      if (err instanceof UnavailableError && runner.pgRestoreInProgress()) return 'restoring';
      return 'down';
    }
  };
  const events = slack.requestListener && guardSlackEvents({ signingSecret: config.slack.signingSecret ?? '', logger }, slack.requestListener);
  const eventsRoute: Route = async (req, res) => {
    if (!events || pathOf(req) !== EVENTS_PATH) return false;
    await events(req, res);
    return true;
  };
  const server = createHttpServer(
    [
      healthRoute(),
      // In Socket Mode the bot hears nothing while its WebSocket is down, whatever auth.test says.
      // A Slack whose recent writes time out is down even when auth.test still answers.
      readinessRoute({
        slack: async () => slack.connected() && !outbox.slackUnresponsive() && (await web.auth.test()).ok === true,
        backupManager: checkManager,
        slackProbeMs: Math.min(5000, config.slackTimeoutMs),
        api: () => api.generation?.() ?? 'unknown',
        role: () => leadership.role(),
        store: async () => {
          try {
            store.probeWrite(clock(), READINESS_STORE_BUSY_MS);
            return true;
          } catch (err) {
            logger.warn({ code: (err as { code?: unknown }).code }, 'state store refused the readiness write');
            return false;
          }
        },
      }),
      metricsRoute(metrics),
      eventsRoute,
      ...(options.extraRoutes ?? []),
    ],
    logger,
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  // Found out (and logged) now rather than at the first command; calls meanwhile share this detection.
  generations?.redetect().catch((err: unknown) => logger.warn({ err }, 'Backup Manager API generation detection failed'));
  // Backups whose POST a previous run (or a replica that died) sent or was sending. With
  // replicas, an intent younger than a command's manager deadline may be a live replica's own.
  const intents = new IntentReconciler(deps, config.pollIntervalMs, undefined, replicated ? (options.managerTimeouts?.deadline ?? 15_000) + 15_000 : 0);
  let expiry: NodeJS.Timeout | undefined;
  let rounds: NodeJS.Timeout | undefined;
  let led = false;
  let stopped = false;
  /**
   * What must happen once, on the leader only: the reader's subscribers (tracking, failure
   * watch, staleness, Home), the restore runner, the outbox sender and the expiry sweep. It
   * resumes from the store what an earlier leader or run left, as a restart does.
   */
  const lead = (): { resumedJobs: number; resumedRestores: number } => {
    led = true;
    metrics.leader.set(1);
    const resumedJobs = outbox.startSending();
    const resumedRestores = runner.pickUp();
    poller.start();
    intents.start();
    watch.start();
    staleness.start();
    home.start();
    expiry = setInterval(() => {
      try {
        expireDue(deps);
      } catch (err) {
        // E.g. the state file locked by another process: an exception thrown in a timer would
        // end the process. The next round expires what this one could not.
        logger.warn({ err }, 'could not expire restore requests; trying again later');
      }
    }, Math.min(30_000, Math.max(250, Math.floor(config.approvalTtlMs / 4))));
    expiry.unref();
    if (replicated) {
      // Work other replicas stored: at once on their NOTIFY, and every poll interval in case one was missed.
      rounds = setInterval(leaderRound, config.pollIntervalMs);
      rounds.unref();
    }
    return { resumedJobs, resumedRestores };
  };
  const leaderRound = (): void => {
    if (!led || stopped || leadership.role() !== 'leader') return;
    try {
      outbox.resume();
      poller.start();
      runner.pickUp();
      intents.start();
    } catch (err) {
      logger.warn({ err }, 'leader round failed; the next one tries again');
    }
    home.pickUp();
  };
  metrics.leader.set(0);
  let resumed = { resumedJobs: 0, resumedRestores: 0 };
  if (leadership.role() === 'leader') resumed = lead();
  leadership.onNotify(WORK_CHANNEL, leaderRound);
  leadership.onChange((role) => {
    if (stopped) return;
    if (role === 'leader' && !led) {
      const r = lead();
      logger.info({ ...r, tracked: store.tasks.listActive().length }, 'this replica leads now: resumed what was left');
    } else if (role === 'follower' && led) {
      // Already fenced: every write it could still start checks the epoch in the store.
      metrics.leader.set(0);
      logger.error('lost the leadership: stopping; a restart rejoins as a follower');
      (options.onLeadershipLost ?? (() => void stop({ drainMs: 0 })))();
    }
  });

  let stopping: Promise<void> | undefined;
  const stop = (opts: { drainMs?: number } = {}): Promise<void> => {
    stopping ??= (async () => {
      stopped = true;
      clearInterval(expiry);
      clearInterval(rounds);
      const closed = new Promise<void>((r) => server.close(() => r()));
      server.closeIdleConnections();
      await watch.stop();
      staleness.stop();
      home.stop();
      await intents.stop();
      poller.stop();
      await runner.stop();
      await reader.stop();
      await outbox.drain(opts.drainMs ?? 5000);
      await slack.stop();
      server.closeAllConnections();
      await closed;
      await api.close();
      await leadership.stop();
      store.close();
      logger.info('pgbackup-bot stopped');
    })();
    return stopping;
  };

  try {
    await slack.start(options.slackConnectTimeoutMs === undefined ? {} : { connectTimeoutMs: options.slackConnectTimeoutMs });
  } catch (err) {
    // Socket Mode refused for good (e.g. a revoked app token): the caller gets no Bot to stop,
    // so undo the start here; nothing is left listening or polling.
    await stop({ drainMs: 0 });
    throw err;
  }
  await leadership.start();
  logger.info(
    { port, mode: slack.requestListener ? 'http' : 'socket', role: leadership.role(), ...resumed, tracked: store.tasks.listActive().length },
    'pgbackup-bot started',
  );

  return { server, port, url: `http://127.0.0.1:${port}`, deps, runner, watch, staleness, home, slack, stop };
}
