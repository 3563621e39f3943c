import type { Writable } from 'node:stream';

/**
 * Where log lines go. A log write must never keep the process alive or block it: a stalled
 * log collector (a pipe nobody reads) would otherwise stop shutdown, signals and all.
 */
export interface LogDestination {
  write(line: string): void;
  /** Resolves once queued lines are written, after `timeoutMs`, or when the output broke; never rejects. */
  flush(timeoutMs: number): Promise<void>;
  /** Lines dropped because the reader did not keep up (or went away). */
  dropped(): number;
}

/** About a minute of trace logging under load; beyond that, lines are dropped and counted. */
export const DEFAULT_MAX_QUEUED_BYTES = 1024 * 1024;

/**
 * Writes to `out` without ever waiting on it. `process.stdout` is non-blocking for pipes and
 * sockets on Linux (writes queue in memory) and synchronous for files and terminals, which
 * do not stall for ever. The queue is capped so a reader that stopped can not grow memory
 * without bound; nothing here flushes synchronously at exit (pino's own destination does,
 * and that write blocks for ever on a full pipe).
 */
export function boundedDestination(out: Writable, maxQueuedBytes = DEFAULT_MAX_QUEUED_BYTES): LogDestination {
  let broken = false;
  let dropped = 0;
  let reported = 0;
  // EPIPE (the reader closed) and the like: stop logging rather than crash on an 'error' event.
  out.on('error', () => (broken = true));
  const fits = (bytes: number) => out.writableLength + bytes <= maxQueuedBytes;
  return {
    write(line) {
      if (broken || out.destroyed || !fits(Buffer.byteLength(line))) {
        dropped++;
        return;
      }
      if (dropped > reported) {
        const notice = `${JSON.stringify({ level: 40, time: Date.now(), name: 'pgbackup-bot', component: 'logger', dropped: dropped - reported, msg: 'log lines dropped: stdout was not being read' })}\n`;
        reported = dropped;
        out.write(notice);
      }
      out.write(line);
    },
    flush(timeoutMs) {
      if (broken || out.destroyed || out.writableLength === 0) return Promise.resolve();
      return new Promise((resolve) => {
        const done = () => {
          clearTimeout(timer);
          out.off('drain', done);
          out.off('error', done);
          resolve();
        };
        const timer = setTimeout(done, timeoutMs);
        out.once('drain', done);
        out.once('error', done);
      });
    },
    dropped: () => dropped,
  };
}
