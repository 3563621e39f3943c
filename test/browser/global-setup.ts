import { chooseChromium } from './chromium';

/**
 * Unpacks the npm-shipped Chromium once, before the workers start: two workers unpacking it to
 * the same temp path at once race (one spawns a file the other is still writing: ETXTBSY).
 */
export default async function globalSetup(): Promise<void> {
  await chooseChromium();
}
