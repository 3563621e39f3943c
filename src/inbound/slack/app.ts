import { within } from '../../within';
import type { RequestListener } from 'node:http';
import { App, HTTPReceiver, SocketModeReceiver, webApi } from '@slack/bolt';
import type { Logger } from 'pino';
import type { SlackConfig } from '../../config';
import type { Deps } from '../../use-cases/deps';
import { boltLogger } from '../../logger';
import type { StartRestore } from '../../use-cases/restores/decide';
import { registerActions } from './listeners/actions';
import { registerCommands } from './listeners/commands';
import { registerEvents } from './listeners/events';
import { dedupeReplays, REQUEST_TIMESTAMP } from './listeners/dedupe';
import { registerViews } from './listeners/views';

export const EVENTS_PATH = '/slack/events';

/** How long start() waits for the first Socket Mode connection before going on without it. */
export const SOCKET_CONNECT_TIMEOUT_MS = 10_000;
/** How long stop() waits for Slack to answer the WebSocket close handshake. */
const SOCKET_CLOSE_TIMEOUT_MS = 5_000;

export interface SlackRuntime {
  app: App;
  /** HTTP mode: serves POST /slack/events (signature checked by Bolt). Undefined in Socket Mode. */
  requestListener: RequestListener | undefined;
  /** Socket Mode: whether the WebSocket to Slack is up (Slack's hello received). Always true in HTTP mode. */
  connected(): boolean;
  /**
   * Socket Mode: connects. Resolves once connected, or after `connectTimeoutMs` with the client
   * still (re)connecting in the background (logged; /readyz says Slack is down meanwhile).
   * Rejects when Slack refuses the app token for good (e.g. a revoked one).
   */
  start(options?: { connectTimeoutMs?: number }): Promise<void>;
  /** Socket Mode: closes the WebSocket and waits (bounded) until it is closed; no reconnect after. */
  stop(): Promise<void>;
}

/**
 * The Bolt app: HTTP mode by default, Socket Mode when an app token is set. In HTTP mode the
 * receiver is not started; its request listener is mounted on the bot's own server, next to
 * /healthz and /metrics.
 */
function clientOptions(slack: SlackConfig, timeoutMs: number) {
  return {
    ...(slack.apiUrl ? { slackApiUrl: slack.apiUrl } : {}),
    // The outbox is the one layer that retries and waits out 429s.
    retryConfig: { retries: 0 },
    // A Slack that never answers must not hold a call (and the outbox's slot) for ever.
    timeout: timeoutMs,
    rejectRateLimitedCalls: true,
  };
}

/** The Web API client of the outbox and the readiness check, configured like the app's own. */
export function createSlackClient(slack: SlackConfig, logger: Logger, timeoutMs: number): webApi.WebClient {
  return new webApi.WebClient(slack.botToken, { ...clientOptions(slack, timeoutMs), logger: boltLogger(logger) });
}

/** Who the bot is, from auth.test at start; Bolt then makes no call of its own before serving. */
export interface BotIdentity {
  botId?: string;
  botUserId?: string;
}

export function createSlackApp(slack: SlackConfig, logger: Logger, deps: Deps, startRestore: StartRestore, identity: BotIdentity = {}): SlackRuntime {
  const log = boltLogger(logger);
  const common = {
    token: slack.botToken,
    logger: log,
    clientOptions: clientOptions(slack, deps.config.slackTimeoutMs),
    // Bolt would verify the token with its own auth.test, whose failure it can not report
    // anywhere useful; the bot checks it itself (startup log, /readyz).
    tokenVerificationEnabled: false,
    ...identity,
  };
  let app: App;
  let requestListener: RequestListener | undefined;
  let socket: SocketModeReceiver['client'] | undefined;
  let connected = !slack.appToken;
  if (slack.appToken) {
    // Built here rather than by Bolt so the bot can follow the connection's state and wait for
    // its close. Its Web API client (apps.connections.open) gets only the API URL, not the bot's
    // `retries: 0`, which Bolt would hand on: @slack/socket-mode then retries that call itself
    // (its default), where with no retries one failed request during a reconnect ends in an
    // unhandled rejection inside the library, which ends the process.
    const receiver = new SocketModeReceiver({
      appToken: slack.appToken,
      logger: log,
      installerOptions: { clientOptions: slack.apiUrl ? { slackApiUrl: slack.apiUrl } : {} },
    });
    socket = receiver.client;
    socket.on('connected', () => {
      connected = true;
      logger.info('Slack Socket Mode connected');
    });
    // 'close': the WebSocket is gone (a reconnect may follow after a delay).
    for (const state of ['close', 'reconnecting', 'disconnecting', 'disconnected']) socket.on(state, () => (connected = false));
    app = new App({ ...common, receiver });
  } else {
    const receiver = new HTTPReceiver({
      signingSecret: slack.signingSecret ?? '',
      endpoints: EVENTS_PATH,
      logger: log,
      processBeforeResponse: false,
      // For telling a replayed command without a trigger_id from a second one (see dedupe.ts).
      customPropertiesExtractor: (req) => {
        const stamp = req.headers['x-slack-request-timestamp'];
        return typeof stamp === 'string' ? { [REQUEST_TIMESTAMP]: stamp } : {};
      },
    });
    app = new App({ ...common, receiver });
    requestListener = receiver.requestListener;
  }
  app.error(async (err) => {
    logger.error({ err: { name: err.name, message: err.message, code: (err as { code?: string }).code } }, 'Slack handler failed');
  });
  app.use(dedupeReplays(deps));
  registerCommands(app, deps);
  registerActions(app, deps, startRestore);
  registerViews(app, deps);
  registerEvents(app, deps);
  return {
    app,
    requestListener,
    connected: () => connected,
    start: async (options = {}) => {
      if (!socket) return;
      const timeoutMs = options.connectTimeoutMs ?? SOCKET_CONNECT_TIMEOUT_MS;
      // app.start() settles only once Slack's hello arrives, and retries for ever a WebSocket that
      // fails to open, a network or HTTP error of apps.connections.open, or a Slack error it deems transient.
      const started: Promise<unknown> = app.start();
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          logger.warn({ timeoutMs }, 'Slack Socket Mode not connected yet; still trying in the background (see /readyz)');
          resolve();
        }, timeoutMs);
        started.then(
          () => {
            clearTimeout(timer);
            resolve();
          },
          (err: unknown) => {
            // After the timeout this settles an already settled promise: handled, and nothing else.
            clearTimeout(timer);
            reject(err);
          },
        );
      });
    },
    stop: async () => {
      if (!socket) return;
      // Bolt's stop() starts the close handshake without waiting for it to finish.
      const disconnected = new Promise<void>((resolve) => socket.once('disconnected', () => resolve()));
      await app.stop();
      if ((await within(disconnected, SOCKET_CLOSE_TIMEOUT_MS)).kind === 'timeout') {
        logger.warn('Slack did not finish the Socket Mode close handshake in time; the client closes the connection itself later');
      }
    },
  };
}
