import { progress, report } from './report';

/** Registers a cleanup; cleanups run last-registered first once the body is done, failed or not. */
export type Defer = (cleanup: () => unknown) => void;

/**
 * Runs one bench body with a hard deadline. Cleanups registered with `defer` run whether the
 * body succeeds or fails. On success the process is left to exit by itself; if some handle
 * keeps it alive anyway, an unref'd guard names it and exits, so a run is bounded whatever
 * happens. On failure or timeout a failing result line is printed and the exit code is 1.
 */
export function runBench(name: string, deadlineMs: number, body: (defer: Defer) => Promise<void>): void {
  const started = Date.now();
  const cleanups: Array<() => unknown> = [];
  const deadline = setTimeout(() => {
    report({ name: `${name}.completed`, value: 0, unit: 'bool', target: `finishes within ${deadlineMs / 1000} s`, pass: false, note: 'deadline hit' });
    progress(name, `deadline of ${deadlineMs} ms hit; exiting`);
    process.exit(1);
  }, deadlineMs);
  deadline.unref();
  const cleanUp = async () => {
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch (err) {
        progress(name, `cleanup failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  };
  body((cleanup) => cleanups.push(cleanup))
    .then(async () => {
      await cleanUp();
      clearTimeout(deadline);
      progress(name, `finished in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      const guard = setTimeout(() => {
        const handles = (process as unknown as { _getActiveHandles?: () => unknown[] })._getActiveHandles?.() ?? [];
        progress(name, `still alive 5 s after finishing (${handles.map((h) => (h as object).constructor.name).join(', ')}); forcing exit`);
        process.exit(process.exitCode ?? 0);
      }, 5000);
      guard.unref();
    })
    .catch(async (err: unknown) => {
      report({ name: `${name}.completed`, value: 0, unit: 'bool', target: 'runs without error', pass: false, note: err instanceof Error ? err.message : String(err) });
      progress(name, `failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      await cleanUp();
      process.exit(1);
    });
}
