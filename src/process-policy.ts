import type { EventEmitter } from 'node:events';
import { types } from 'node:util';
import type { Logger } from 'pino';

/** What a log line may say about a thrown value: never the objects an error may carry (a request, a response). */
export function describeThrown(value: unknown): { type: string; message: string; code?: string; stack?: string } {
  if (value instanceof Error || types.isNativeError(value)) {
    const code = (value as { code?: unknown }).code;
    return { type: value.name, message: value.message.slice(0, 500), ...(typeof code === 'string' ? { code } : {}), ...(value.stack ? { stack: value.stack.slice(0, 2000) } : {}) };
  }
  return { type: typeof value, message: String(value).slice(0, 500) };
}

/**
 * (The logger's `err` serializer, describeThrown, keeps what is logged small.)
 * No input may end the process: a library that rejects or throws inside its own async code
 * (Bolt reading a property of a malformed payload, say) is logged with context and the
 * process keeps serving. Exits happen only through main's signal handling.
 */
export function installCrashPolicy(proc: EventEmitter, logger: Logger): void {
  proc.on('unhandledRejection', (reason: unknown) => {
    logger.error({ err: reason }, 'unhandled rejection (ignored; still serving)');
  });
  proc.on('uncaughtException', (err: unknown, origin: unknown) => {
    logger.error({ err, origin: String(origin) }, 'uncaught exception (ignored; still serving)');
  });
}
