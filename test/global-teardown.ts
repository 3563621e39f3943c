import type { ChildProcess } from 'node:child_process';

/** Stops the run's PostgreSQL; it removes its data directory on the way out. */
export default async function globalTeardown(): Promise<void> {
  const child = (globalThis as { testPostgres?: ChildProcess }).testPostgres;
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}
