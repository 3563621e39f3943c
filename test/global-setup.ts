import { chooseChromium } from './browser/chromium';
import { startTestPostgres } from './pg/postgres';

/**
 * Before the workers start: unpacks the npm-shipped Chromium once (two workers unpacking it to
 * the same temp path at once race: ETXTBSY) and starts the run's one PostgreSQL, which every
 * test that needs one shares (each with databases of its own).
 */
export default async function globalSetup(): Promise<void> {
  await chooseChromium();
  (globalThis as { testPostgres?: unknown }).testPostgres = await startTestPostgres();
}
