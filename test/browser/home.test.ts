import type { Sandbox } from '../../src/sandbox/start';
import type { SandboxPage } from './sandbox-page';
import { useSandboxInChromium } from './sandbox-session';

const ALICE = 'U0ALICE';
const BOB = 'U0BOB';
const OPS = 'C0OPS';
const ALERTS = 'C0ALERTS';

/** The Home entry of the sandbox page: the view the bot publishes on open, and its List button. */
describe('App Home on the sandbox page', () => {
  const session = useSandboxInChromium();
  const pageErrors = session.pageErrors;
  let sandbox: Sandbox | undefined;
  let ui: SandboxPage;
  beforeAll(() => {
    ({ sandbox, ui } = session);
  });

  it('opens the Home, shows what the bot published for this person, and List answers in the notify channel', async () => {
    const live = sandbox as Sandbox;
    await ui.open(live.url, ALICE, OPS);
    await ui.page.locator('#home-entry').click();
    const home = ui.page.locator('#home-pane');
    await home.waitFor({ state: 'visible' });
    const view = ui.page.locator('#home-view');
    await view.filter({ hasText: 'backups at a glance' }).filter({ hasText: 'a9s-pg' }).filter({ hasText: 'Backup Manager' }).waitFor();
    expect(await ui.page.locator('main.channel:not(#home-pane)').isHidden()).toBe(true);
    // Only the Home is highlighted in the sidebar while it is open, not the channel left behind.
    const opsButton = ui.page.locator(`#channel-list button[data-channel="${OPS}"]`);
    expect(await opsButton.evaluate((el) => (globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string } }).getComputedStyle(el).backgroundColor)).toBe('rgba(0, 0, 0, 0)');
    // Laid out like a Slack view: the blocks stacked, one instance under the other, not side by side.
    const lists = view.locator('button[data-home-action="home_list"]');
    await lists.nth(1).waitFor();
    const [first, second] = [await lists.nth(0).boundingBox(), await lists.nth(1).boundingBox()];
    expect(second?.y ?? 0).toBeGreaterThan((first?.y ?? 0) + (first?.height ?? 0));
    expect(second?.x).toBe(first?.x);

    await view.locator('button[data-home-action="home_list"][data-home-block="home:a9s-pg"]').click();
    await ui.page.locator(`[data-channel="${ALERTS}"]`).click();
    await home.waitFor({ state: 'hidden' });
    await ui.channelEphemeral('Latest backups of a9s-pg');

    // Another person gets their own Home when they open it.
    const published = new Promise<string>((resolve) => live.bot.home.events.on('published', (user) => user === BOB && resolve(user)));
    await ui.switchUser(BOB);
    await ui.page.locator('#home-entry').click();
    expect(await published).toBe(BOB);
    await view.filter({ hasText: 'backups at a glance' }).waitFor();
    expect(pageErrors).toEqual([]);
  }, 120_000);
});
