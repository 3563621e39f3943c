import type { RequestListener } from 'node:http';
import { App, HTTPReceiver, webApi } from '@slack/bolt';
import type { Logger } from 'pino';
import type { SlackConfig } from '../config';
import type { Deps } from '../deps';
import { boltLogger } from '../logger';
import type { StartRestore } from '../restores/decide';
import { registerActions } from './listeners/actions';
import { registerCommands } from './listeners/commands';

export const EVENTS_PATH = '/slack/events';

export interface SlackRuntime {
  app: App;
  /** HTTP mode: serves POST /slack/events (signature checked by Bolt). Undefined in Socket Mode. */
  requestListener: RequestListener | undefined;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The Bolt app: HTTP mode by default, Socket Mode when an app token is set. In HTTP mode the
 * receiver is not started; its request listener is mounted on the bot's own server, next to
 * /healthz and /metrics.
 */
function clientOptions(slack: SlackConfig) {
  return {
    ...(slack.apiUrl ? { slackApiUrl: slack.apiUrl } : {}),
    // The outbox is the one layer that retries and waits out 429s.
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
  };
}

/** The Web API client of the outbox and the readiness check, configured like the app's own. */
export function createSlackClient(slack: SlackConfig, logger: Logger): webApi.WebClient {
  return new webApi.WebClient(slack.botToken, { ...clientOptions(slack), logger: boltLogger(logger) });
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
    clientOptions: clientOptions(slack),
    // Bolt would verify the token with its own auth.test, whose failure it can not report
    // anywhere useful; the bot checks it itself (startup log, /readyz).
    tokenVerificationEnabled: false,
    ...identity,
  };
  let app: App;
  let requestListener: RequestListener | undefined;
  if (slack.appToken) {
    app = new App({ ...common, appToken: slack.appToken, socketMode: true });
  } else {
    const receiver = new HTTPReceiver({
      signingSecret: slack.signingSecret ?? '',
      endpoints: EVENTS_PATH,
      logger: log,
      processBeforeResponse: false,
    });
    app = new App({ ...common, receiver });
    requestListener = receiver.requestListener;
  }
  app.error(async (err) => {
    logger.error({ err: { name: err.name, message: err.message, code: (err as { code?: string }).code } }, 'Slack handler failed');
  });
  registerCommands(app, deps);
  registerActions(app, deps, startRestore);
  return {
    app,
    requestListener,
    start: async () => {
      if (slack.appToken) await app.start();
    },
    stop: async () => {
      if (slack.appToken) await app.stop();
    },
  };
}
