import type { ChildProcess } from 'node:child_process';
import { stopTestPostgres } from './pg/postgres';

/** Stops the run's PostgreSQL. */
export default async function globalTeardown(): Promise<void> {
  const child = (globalThis as { testPostgres?: ChildProcess }).testPostgres;
  if (child) await stopTestPostgres(child);
}
