import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { chromium, type Browser } from 'playwright-core';

/**
 * Where a system Chromium may be. A machine that has one (Debian's `chromium`, or `CHROMIUM_PATH`)
 * uses it; any other falls back to the headless Chromium that `@sparticuz/chromium` ships inside
 * its npm package, so `npm ci && npm test` needs nothing but Node and npm. Playwright never
 * downloads a browser.
 */
const SYSTEM_CANDIDATES = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'];

/** The machine has no network: these flags keep Chromium from trying to reach anything. */
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface ChromiumChoice {
  executablePath: string;
  args: string[];
  source: 'system' | 'npm';
}

/** What we use of `@sparticuz/chromium`. */
interface PackagedChromium {
  executablePath(): Promise<string>;
}

/**
 * Loaded through `require`: the package's `exports` list its ESM typings first, so TypeScript
 * refuses a plain import from our CommonJS build although Node loads its CJS build fine.
 */
function loadPackagedChromium(): PackagedChromium {
  const loaded = createRequire(__filename)('@sparticuz/chromium') as { default?: PackagedChromium } & Partial<PackagedChromium>;
  const chromiumModule = loaded.default ?? loaded;
  if (typeof chromiumModule.executablePath !== 'function') throw new Error('@sparticuz/chromium has no executablePath()');
  return chromiumModule as PackagedChromium;
}

/** The system Chromium when there is one, otherwise the one unpacked from `@sparticuz/chromium`. */
export async function chooseChromium(candidates: readonly (string | undefined)[] = SYSTEM_CANDIDATES): Promise<ChromiumChoice> {
  const system = candidates.find((path): path is string => path !== undefined && path !== '' && existsSync(path));
  if (system !== undefined) return { executablePath: system, args: ARGS, source: 'system' };
  // Unpacks its brotli-packed browser to the temp dir once, then answers the same path.
  const executablePath = await loadPackagedChromium().executablePath();
  // Its own flags suit AWS Lambda (single process, no web security); ours are what a test wants.
  return { executablePath, args: ARGS, source: 'npm' };
}

export async function launchChromium(): Promise<Browser> {
  const choice = await chooseChromium();
  return chromium.launch({ executablePath: choice.executablePath, args: choice.args });
}
