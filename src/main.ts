import { startBot } from './bot';
import { ConfigError, loadConfig, secretsOf } from './config';
import { createLogger } from './logger';
import { killRemainingCommands } from './restores/log-tail';
import { startSandbox } from './sandbox/start';

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
  const logger = createLogger({ level: config.logLevel, secrets: secretsOf(config) });
  const running = config.mode === 'sandbox' ? await startSandbox(config, logger) : await startBot({ config, logger });

  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      logger.warn({ signal }, 'second signal: exiting at once');
      killRemainingCommands();
      process.exit(1);
    }
    logger.info({ signal }, 'shutting down');
    running
      .stop({ drainMs: 10_000 })
      .then(() => process.exit(0))
      .catch((err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

main().catch((err: unknown) => {
  console.error(`pgbackup-bot failed to start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
