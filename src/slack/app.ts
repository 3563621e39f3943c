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

export function createSlackApp(slack: SlackConfig, logger: Logger, deps: Deps, startRestore: StartRestore): SlackRuntime {
  const log = boltLogger(logger);
  let app: App;
  let requestListener: RequestListener | undefined;
  if (slack.appToken) {
    app = new App({ token: slack.botToken, appToken: slack.appToken, socketMode: true, logger: log, clientOptions: clientOptions(slack) });
  } else {
    const receiver = new HTTPReceiver({
      signingSecret: slack.signingSecret ?? '',
      endpoints: EVENTS_PATH,
      logger: log,
      processBeforeResponse: false,
    });
    app = new App({ token: slack.botToken, receiver, logger: log, clientOptions: clientOptions(slack) });
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
