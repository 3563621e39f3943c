import type { Sandbox } from '../../src/sandbox/start';
import type { SandboxPage } from './sandbox-page';
import { useSandboxInChromium } from './sandbox-session';

const ALICE = 'U0ALICE';
const EVE = 'U0EVE';
const OPS = 'C0OPS';

/**
 * The Restore… modal in a real browser: opened from `list`, a field error shown under its
 * field, Enter submits, Escape closes, and the sandbox's groups refusing Eve.
 */
describe('restore modal on the sandbox page', () => {
  const session = useSandboxInChromium();
  const pageErrors = session.pageErrors;
  let sandbox: Sandbox | undefined;
  let ui: SandboxPage;
  beforeAll(() => {
    ({ sandbox, ui } = session);
  });

  it('opens from Restore…, shows errors under the fields, submits with Enter, closes with Escape', async () => {
    const live = sandbox as Sandbox;
    await ui.open(live.url, ALICE, OPS);
    await ui.command('/pgbackup list a9s-pg');
    const list = await ui.channelEphemeral('Latest backups of a9s-pg');
    const restore = list.locator('button.blk-btn[data-action-id="restore_open"]').first();

    await restore.click();
    const modal = ui.page.locator('#view-modal .view-modal');
    await modal.waitFor({ state: 'visible' });
    await modal.filter({ hasText: 'Restore a9s-pg' }).filter({ hasText: /unavailable/ }).waitFor();
    const reason = modal.locator('textarea[data-block-id="reason"]');
    const confirm = modal.locator('input[data-block-id="confirm"]');
    await reason.fill('bad migration');
    // Enter in the confirmation field submits; the empty confirmation comes back as its error.
    await confirm.press('Enter');
    await modal.locator('.view-input.invalid[data-block-id="confirm"] .view-error').filter({ hasText: 'Type a9s-pg exactly' }).waitFor();
    expect(await reason.inputValue()).toBe('bad migration');
    expect(live.bot.deps.store.restores.inState('pending')).toHaveLength(0);

    await confirm.fill('a9s-pg');
    await confirm.press('Enter');
    await ui.page.locator('#view-modal').waitFor({ state: 'hidden' });
    const card = await ui.channelMessage('Restore of a9s-pg requested');
    await ui.waitForText(card, 'bad migration');

    // Escape closes a modal without a request.
    await ui.command('/pgbackup list a9s-pg');
    const again = await ui.channelEphemeral('Latest backups of a9s-pg');
    await again.locator('button.blk-btn[data-action-id="restore_open"]').first().click();
    await modal.waitFor({ state: 'visible' });
    await ui.page.keyboard.press('Escape');
    await ui.page.locator('#view-modal').waitFor({ state: 'hidden' });
    expect(live.bot.deps.store.restores.inState('pending')).toHaveLength(1);

    // Eve is in neither sandbox group: she may list, but Restore… is refused.
    await ui.switchUser(EVE);
    await ui.command('/pgbackup list a9s-pg');
    const evesList = await ui.channelEphemeral('Latest backups of a9s-pg');
    await evesList.locator('button.blk-btn[data-action-id="restore_open"]').first().click();
    await ui.channelEphemeral('not one of the operators allowed to request restores');
    expect(await ui.page.locator('#view-modal').isHidden()).toBe(true);
    expect(pageErrors).toEqual([]);
  }, 120_000);
});
