import type { Locator, Page } from 'playwright-core';

/** Generous: a step of the flow may wait on several polls of the bot and steps of the simulator. */
export const WAIT_MS = 30_000;

/**
 * The sandbox page as a person uses it: type a command, read the channel and a thread, click a
 * message's buttons, answer the confirm dialog, switch user. Every wait is Playwright waiting
 * for a condition on the page; nothing sleeps. Messages are found by their text once, then
 * pinned by their `data-ts`, because the page redraws its lists on every change.
 */
export class SandboxPage {
  constructor(readonly page: Page) {}

  async open(url: string, user: string, channel: string): Promise<void> {
    const target = new URL(url);
    target.searchParams.set('user', user);
    target.searchParams.set('channel', channel);
    await this.page.goto(target.toString());
    await this.page.locator('#conn-status[data-state="live"]').waitFor({ timeout: WAIT_MS });
    await this.page.locator('#user-select').locator(`option[value="${user}"]`).waitFor({ state: 'attached', timeout: WAIT_MS });
  }

  /** Types into the composer and sends with Enter, as a person would. */
  async command(text: string): Promise<void> {
    const input = this.page.locator('#command');
    await input.fill(text);
    await input.press('Enter');
  }

  async switchUser(userId: string): Promise<void> {
    await this.page.locator('#user-select').selectOption(userId);
    await this.page.locator('#user-title').filter({ hasText: `(${userId})` }).waitFor({ timeout: WAIT_MS });
  }

  /** A message (not an ephemeral) in the channel pane whose text matches; waits for it. */
  async channelMessage(text: string | RegExp): Promise<Locator> {
    return this.pin(this.page.locator('#messages .msg[data-ts]:not(.ephemeral)').filter({ hasText: text }), '#messages');
  }

  /** An ephemeral ("Only visible to you") in the channel pane whose text matches; waits for it. */
  async channelEphemeral(text: string | RegExp): Promise<Locator> {
    return this.pin(this.page.locator('#messages .msg.ephemeral[data-ts]').filter({ hasText: text }), '#messages');
  }

  /** A message in the open thread pane whose text matches; waits for it. */
  async threadMessage(text: string | RegExp): Promise<Locator> {
    return this.pin(this.page.locator('#thread-messages .msg[data-ts]').filter({ hasText: text }), '#thread-messages');
  }

  /** Waits until a pinned message's text matches, e.g. a status edited in place. */
  async waitForText(message: Locator, text: string | RegExp): Promise<void> {
    await message.filter({ hasText: text }).waitFor({ timeout: WAIT_MS });
  }

  async openThread(parent: Locator): Promise<void> {
    const ts = await parent.getAttribute('data-ts');
    await parent.locator('button.replies').click({ timeout: WAIT_MS });
    // The parent is drawn again at the top of the pane once the thread is open.
    await this.page.locator(`#thread-messages .msg[data-ts="${ts}"]`).waitFor({ timeout: WAIT_MS });
  }

  /**
   * Fills the restore request form that Restore… opens (issue 13) and submits it with Enter, as a
   * person would; for a9s-pg the confirmation field takes the instance's name.
   */
  async submitRestoreForm(options: { confirm?: string; reason?: string } = {}): Promise<void> {
    const modal = this.page.locator('#view-modal');
    const reason = modal.locator('textarea[data-block-id="reason"], input[data-block-id="reason"]');
    await reason.waitFor({ timeout: WAIT_MS });
    if (options.reason !== undefined) await reason.fill(options.reason);
    const last = options.confirm === undefined ? reason : modal.locator('input[data-block-id="confirm"]');
    if (options.confirm !== undefined) await last.fill(options.confirm);
    await last.press('Enter');
    await modal.locator('textarea, input').first().waitFor({ state: 'detached', timeout: WAIT_MS });
  }

  /** Clicks a Block Kit button of a message; with `confirm`, answers its dialog with the confirm button. */
  async clickButton(message: Locator, actionId: string, options: { confirm?: boolean } = {}): Promise<void> {
    await message.locator(`button.blk-btn[data-action-id="${actionId}"]`).click({ timeout: WAIT_MS });
    if (options.confirm) {
      const modal = this.page.locator('#modal');
      await modal.waitFor({ state: 'visible', timeout: WAIT_MS });
      await this.page.locator('#modal-confirm').click({ timeout: WAIT_MS });
      await modal.waitFor({ state: 'hidden', timeout: WAIT_MS });
    }
  }

  private async pin(candidates: Locator, pane: string): Promise<Locator> {
    const first = candidates.first();
    await first.waitFor({ timeout: WAIT_MS });
    const ts = await first.getAttribute('data-ts');
    if (ts === null) throw new Error('a message without data-ts');
    return this.page.locator(`${pane} .msg[data-ts="${ts}"]`);
  }
}
