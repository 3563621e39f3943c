import { startBot } from './bot';
import { ConfigError, loadConfig, secretsOf } from './config';
import { boundedDestination } from './log-destination';
import { createLogger } from './logger';
import { installCrashPolicy } from './process-policy';
import { killRemainingCommands } from './outbound/log-tail';
import { startSandbox } from './sandbox/start';
import { StartupError } from './startup-error';

/** How long the outbox drains on the first signal (README: Shutdown). */
const DRAIN_MS = 10_000;
/** Beyond the drain: the rest of the stop (closing connections, the store) and the last log lines. */
const STOP_MARGIN_MS = 5_000;
/** How long queued log lines get to reach stdout before the process exits anyway. */
const FINAL_FLUSH_MS = 1_000;

/** Process entry: config → wiring → start; graceful shutdown on the first signal, at once on the second. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
  const destination = boundedDestination(process.stdout);
  const logger = createLogger({ level: config.logLevel, secrets: secretsOf(config), destination });
  installCrashPolicy(process, logger);
  // A replica that lost its leadership stops; status 1 asks the supervisor for the restart
  // that rejoins as a follower (a clean 0 would leave one replica fewer under on-failure policies).
  let leadershipLost = false;
  let onLeadershipLost = (): void => {
    leadershipLost = true;
  };
  const running =
    config.mode === 'sandbox' ? await startSandbox(config, logger) : await startBot({ config, logger, onLeadershipLost: () => onLeadershipLost() });

  // Exits after a bounded wait for stdout; a stalled log reader must not keep the process alive.
  const exit = (code: number) => {
    void destination.flush(FINAL_FLUSH_MS).then(() => process.exit(code));
  };
  // Whatever part of the stop hangs (a manager that never answers a close, say), the promise
  // of a bounded shutdown holds.
  const shutDown = (drainMs: number, code: number): void => {
    const deadline = setTimeout(() => {
      logger.error({ afterMs: drainMs + STOP_MARGIN_MS }, 'shutdown did not finish in time: exiting');
      killRemainingCommands();
      exit(1);
    }, drainMs + STOP_MARGIN_MS);
    deadline.unref();
    running
      .stop({ drainMs })
      .then(() => exit(code))
      .catch((err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        exit(1);
      });
  };
  onLeadershipLost = () => shutDown(0, 1);
  if (leadershipLost) onLeadershipLost();
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      logger.warn({ signal }, 'second signal: exiting at once');
      killRemainingCommands();
      process.exit(1);
    }
    logger.info({ signal }, 'shutting down');
    shutDown(DRAIN_MS, 0);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

main().catch((err: unknown) => {
  // A startup problem the operator can fix (e.g. the state file): one line, no stack.
  if (err instanceof StartupError) {
    console.error(`pgbackup-bot failed to start: ${err.message}`);
    process.exit(2);
  }
  console.error(`pgbackup-bot failed to start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
