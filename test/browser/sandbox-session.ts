import type { Browser, BrowserContext } from 'playwright-core';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/logger';
import { startSandbox, type Sandbox } from '../../src/sandbox/start';
import { launchChromium } from './chromium';
import { SandboxPage, WAIT_MS } from './sandbox-page';

export interface SandboxSession {
  sandbox: Sandbox;
  ui: SandboxPage;
  /** Uncaught page errors and console errors, for a test to assert there were none. */
  pageErrors: string[];
}

/**
 * For a describe block: the sandbox on loopback (the simulator steps every 200 ms, never fails
 * on its own, schedules nothing, so only the clicks drive the flow) and one Chromium page,
 * started before the tests and closed after them. Read the fields inside the tests or a later
 * beforeAll: they are filled when this one has run.
 */
export function useSandboxInChromium(): SandboxSession {
  const session = { pageErrors: [] as string[] } as unknown as SandboxSession;
  let browser: Browser | undefined;
  let context: BrowserContext | undefined;

  beforeAll(async () => {
    const config = { ...loadConfig({ LOG_LEVEL: 'silent' }), port: 0 };
    session.sandbox = await startSandbox(config, createLogger({ level: 'silent' }), { stepMs: 200, failureRate: 0, scheduleEveryMs: 0, banner: false });
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    context.setDefaultTimeout(WAIT_MS);
    const page = await context.newPage();
    page.on('pageerror', (error) => session.pageErrors.push(`pageerror: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') session.pageErrors.push(`console: ${message.text()}`);
    });
    session.ui = new SandboxPage(page);
  }, 60_000);

  afterAll(async () => {
    // The browser first, so its event stream is gone before the server closes.
    await context?.close();
    await browser?.close();
    await session.sandbox?.stop({ drainMs: 1000 });
  }, 60_000);

  return session;
}
