import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Browser, BrowserContext } from 'playwright-core';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/logger';
import { startSandbox, type Sandbox } from '../../src/sandbox/start';
import { launchChromium } from './chromium';
import { SandboxPage, WAIT_MS } from './sandbox-page';

const ARTIFACTS = resolve(__dirname, '..', '..', 'artifacts');
const ALICE = 'U0ALICE';
const BOB = 'U0BOB';
const OPS = 'C0OPS';

/**
 * The sandbox in a real browser, as a person uses it: a backup followed to `done` in its thread,
 * then a restore of a9s-pg under the two-person rule, from the request to the log-tail
 * follow-up's success and the summary. Everything runs on loopback; the simulator steps every
 * 200 ms, never fails on its own and schedules no backups, so only the clicks drive the flow.
 */
describe('sandbox page in Chromium', () => {
  let sandbox: Sandbox | undefined;
  let browser: Browser | undefined;
  let context: BrowserContext | undefined;
  let ui: SandboxPage;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    const config = { ...loadConfig({ LOG_LEVEL: 'silent' }), port: 0 };
    sandbox = await startSandbox(config, createLogger({ level: 'silent' }), { stepMs: 200, failureRate: 0, scheduleEveryMs: 0, banner: false });
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    context.setDefaultTimeout(WAIT_MS);
    const page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(`pageerror: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(`console: ${message.text()}`);
    });
    ui = new SandboxPage(page);
  }, 60_000);

  afterAll(async () => {
    // The browser first, so its event stream is gone before the server closes.
    await context?.close();
    await browser?.close();
    await sandbox?.stop({ drainMs: 1000 });
  }, 60_000);

  async function screenshot(name: string): Promise<void> {
    mkdirSync(ARTIFACTS, { recursive: true });
    await ui.page.screenshot({ path: join(ARTIFACTS, name), fullPage: true });
  }

  it('backs up, then restores a9s-pg with a second person approving', async () => {
    const live = sandbox as Sandbox;
    try {
      await ui.open(live.url, ALICE, OPS);

      // 1. alice backs up now; the parent message and its thread reach `done`.
      await ui.command('/pgbackup now');
      const parent = await ui.channelMessage('Backup of a9s-pg');
      await ui.waitForText(parent, /Backup of a9s-pg\s*—\s*\S+\s*done/);
      await ui.openThread(parent);
      const doneReply = await ui.threadMessage(/Backup \d+ is done/);
      const backupName = (await doneReply.locator('code').first().textContent())?.trim() ?? '';
      expect(backupName).toMatch(/^a9s-pg-\d+$/);

      // 2. alice asks to restore that very backup from the list.
      await ui.command('/pgbackup list');
      const list = await ui.channelEphemeral('Latest backups of a9s-pg');
      const row = list.locator('.blk-section').filter({ hasText: backupName });
      await row.locator('button.blk-btn[data-action-id="restore_open"]').click();
      // Restore… opens the request modal (issue 13): a9s-pg is confirmed by typing its name.
      await ui.page.locator('#view-modal input[data-block-id="confirm"]').fill('a9s-pg');
      await ui.page.locator('#view-modal input[data-block-id="confirm"]').press('Enter');
      const card = await ui.channelMessage('Restore of a9s-pg requested');
      await ui.waitForText(card, 'Waiting for approval');
      await ui.waitForText(card, backupName);
      await card.locator('button.blk-btn[data-action-id="restore_approve"]').waitFor();
      await card.locator('button.blk-btn[data-action-id="restore_reject"]').waitFor();

      // 3. alice can not approve her own request: refused, still pending.
      await ui.clickButton(card, 'restore_approve', { confirm: true });
      await ui.channelEphemeral('you can not approve it');
      await ui.waitForText(card, 'Waiting for approval');
      expect(await card.textContent()).toMatch(/Approvals\s*0 of 1/);
      const requests = live.bot.deps.store.restores.inState('pending');
      expect(requests.map((r) => [r.requester, r.approvals.length])).toEqual([[ALICE, 0]]);

      // 4. bob approves: the restore runs, the log tail ends in success, then the summary.
      await ui.switchUser(BOB);
      // alice's refusal was hers alone: bob's view does not show it.
      await ui.page.locator('#messages .msg.ephemeral').filter({ hasText: 'you can not approve it' }).waitFor({ state: 'detached' });
      await ui.clickButton(card, 'restore_approve', { confirm: true });
      await ui.waitForText(card, /Restore running|Restore finished/);
      await ui.openThread(card);
      // A regex, not a string: a string matches case-insensitively, and the card speaks of the "backup-agent log" too.
      const followup = await ui.threadMessage(/Backup-agent log for the restore of a9s-pg/);
      await ui.waitForText(followup, /reports\s*success/);
      await ui.threadMessage(/Restore of a9s-pg to backup \d+ succeeded/);
      await ui.waitForText(card, 'Restore finished');
      await ui.waitForText(card, /@bob\s*approved at/);
      expect(await card.textContent()).not.toContain('Waiting for approval');
      expect(await card.locator('button.blk-btn[data-action-id="restore_approve"]').count()).toBe(0);

      expect(pageErrors).toEqual([]);
      await screenshot('sandbox-final.png');
    } catch (error) {
      // What the page showed when a wait gave up, for the CI artifacts.
      await screenshot('sandbox-failure.png');
      throw error;
    }
  }, 120_000);
});
