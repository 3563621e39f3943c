import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Sandbox } from '../../src/sandbox/start';
import type { SandboxPage } from './sandbox-page';
import { useSandboxInChromium } from './sandbox-session';

const ARTIFACTS = resolve(__dirname, '..', '..', 'artifacts');
const ALICE = 'U0ALICE';
const BOB = 'U0BOB';
const CAROL = 'U0CAROL';
const EVE = 'U0EVE';
const OPS = 'C0OPS';

/**
 * The sandbox in a real browser, as a person uses it: a backup followed to `done` in its thread,
 * then a restore of a9s-pg under the two-person rule, from the request to the log-tail
 * follow-up's success and the summary. Everything runs on loopback; the simulator steps every
 * 200 ms, never fails on its own and schedules no backups, so only the clicks drive the flow.
 */
describe('sandbox page in Chromium', () => {
  const session = useSandboxInChromium();
  const pageErrors = session.pageErrors;
  let sandbox: Sandbox | undefined;
  let ui: SandboxPage;
  beforeAll(() => {
    ({ sandbox, ui } = session);
  });

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
      await ui.submitRestoreForm({ confirm: 'a9s-pg' });
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
  /** Another person's message, posted from outside the page: an update the page did not cause. */
  async function otherPersonSays(text: string): Promise<void> {
    // Through the browser context's own client: it goes away with the context, no socket left behind.
    const res = await ui.page.request.post(new URL('sandbox/message', (sandbox as Sandbox).url).toString(), { data: { user: CAROL, channel: OPS, text } });
    expect(res.status()).toBe(200);
    await ui.channelMessage(text);
  }

  // Code that runs in the page is written as strings: this project's TypeScript has no DOM types.

  /** What has focus, in terms a test can compare: the element's id or action, and its message. */
  function focused(): Promise<{ id: string; action: string | null; ts: string | null; tag: string }> {
    return ui.page.evaluate(`(() => {
      const el = document.activeElement;
      return {
        id: el?.id ?? '',
        action: el?.getAttribute('data-action-id') ?? null,
        ts: el?.closest('.msg[data-ts]')?.getAttribute('data-ts') ?? null,
        tag: el?.tagName ?? '',
      };
    })()`);
  }

  it('labels people by what they may do, names each Restore… button, refuses an outsider, keeps focus through updates, and drives the dialog by keyboard', async () => {
    const live = sandbox as Sandbox;
    try {
      await ui.switchUser(ALICE);
      const people = await ui.page.locator('#user-select option').allTextContents();
      expect(people).toEqual(['alice — operator (asks for restores)', 'bob — approver', 'carol — approver', 'eve — outsider (can not approve)']);

      // Ten "Restore…" buttons, each named by its own backup for a screen reader.
      await ui.command('/pgbackup list pg-orders');
      const list = await ui.channelEphemeral('Latest backups of pg-orders');
      const rows = list.locator('.blk-section').filter({ has: ui.page.locator('button[data-action-id="restore_open"]') });
      const ids = (await rows.allTextContents()).map((t) => /^\s*(\d+)/.exec(t)?.[1]);
      expect(ids.length).toBeGreaterThan(1);
      for (const id of ids) {
        await expect(list.getByRole('button', { name: `Restore backup ${id ?? '?'} of pg-orders`, exact: true }).count()).resolves.toBe(1);
      }
      await rows.first().locator('button[data-action-id="restore_open"]').click();
      await ui.submitRestoreForm({ reason: 'sandbox check' });
      const card = await ui.channelMessage('Restore of pg-orders requested');
      await ui.waitForText(card, 'Waiting for approval');

      // eve is no approver: her approval is refused and the request stays pending.
      await ui.switchUser(EVE);
      await ui.clickButton(card, 'restore_approve', { confirm: true });
      await ui.channelEphemeral('not one of the people allowed to approve');
      await ui.waitForText(card, 'Waiting for approval');
      const request = live.bot.deps.store.restores.inState('pending').find((r) => r.instance === 'pg-orders');
      expect(request?.approvals).toEqual([]);

      // bob's focus stays on the button he is at while someone else's message arrives…
      await ui.switchUser(BOB);
      const approve = card.locator('button.blk-btn[data-action-id="restore_approve"]');
      const reject = card.locator('button.blk-btn[data-action-id="restore_reject"]');
      const cardTs = await card.getAttribute('data-ts');
      await reject.focus();
      await otherPersonSays('anyone seen the pg-orders latency graph?');
      expect(await focused()).toMatchObject({ action: 'restore_reject', ts: cardTs });

      // …and so do the composer's text and caret.
      const input = ui.page.locator('#command');
      await input.fill('/pgbackup list pg-billing');
      await ui.page.evaluate("document.getElementById('command').setSelectionRange(10, 14)");
      await otherPersonSays('never mind, found it');
      expect(await focused()).toMatchObject({ id: 'command' });
      const caret = "(() => { const el = document.getElementById('command'); return [el.value, el.selectionStart, el.selectionEnd]; })()";
      expect(await ui.page.evaluate(caret)).toEqual(['/pgbackup list pg-billing', 10, 14]);
      await input.fill('');

      // The dialog: Enter on Cancel cancels; it opens on Cancel, Tab and Shift+Tab stay inside
      // it, Escape cancels; focus goes back to the button that opened it each time.
      const actions: string[] = [];
      ui.page.on('request', (r) => {
        if (r.url().endsWith('/sandbox/action')) actions.push(r.postData() ?? '');
      });
      const modal = ui.page.locator('#modal');
      const inModal = (): Promise<boolean> => ui.page.evaluate("document.getElementById('modal').contains(document.activeElement)");
      await approve.focus();
      await ui.page.keyboard.press('Enter');
      await modal.waitFor({ state: 'visible' });
      await ui.page.locator('#modal-deny').focus();
      await ui.page.keyboard.press('Enter');
      await modal.waitFor({ state: 'hidden' });
      expect(await focused()).toMatchObject({ action: 'restore_approve', ts: cardTs });

      await ui.page.keyboard.press('Enter');
      await modal.waitFor({ state: 'visible' });
      expect(await focused()).toMatchObject({ id: 'modal-deny' });
      await screenshot('sandbox-confirm-dialog.png');
      for (const key of ['Tab', 'Tab', 'Tab', 'Shift+Tab', 'Shift+Tab']) {
        await ui.page.keyboard.press(key);
        expect(await inModal()).toBe(true);
      }
      await ui.page.keyboard.press('Escape');
      await modal.waitFor({ state: 'hidden' });
      expect(await focused()).toMatchObject({ action: 'restore_approve', ts: cardTs });

      // A later click that does reach the bot proves the two above sent nothing.
      await reject.focus();
      await ui.page.keyboard.press('Enter');
      await ui.waitForText(card, /Rejected/);
      expect(actions.map((a) => (JSON.parse(a) as { actionId: string }).actionId)).toEqual(['restore_reject']);
      const ended = live.bot.deps.store.restores.get(request?.id ?? -1);
      expect(ended).toMatchObject({ state: 'rejected', approvals: [] });

      expect(pageErrors).toEqual([]);
      await screenshot('sandbox-dialog.png');
    } catch (error) {
      await screenshot('sandbox-failure.png');
      throw error;
    }
  }, 120_000);

  it('posts text without a leading / as a message and wraps 3,000 characters without a space', async () => {
    try {
      // How far the page, or a pane of it, is wider than what shows: all 0 when long words wrap.
      const overflow = (): Promise<unknown> =>
        ui.page.evaluate(`(() => {
          const over = (el) => el.scrollWidth - el.clientWidth;
          return {
            page: document.documentElement.scrollWidth - window.innerWidth,
            body: document.body.scrollWidth - window.innerWidth,
            messages: over(document.getElementById('messages')),
            thread: over(document.getElementById('thread-messages')),
            composer: over(document.getElementById('composer')),
          };
        })()`);
      const fits = { page: 0, body: 0, messages: 0, thread: 0, composer: 0 };
      await ui.openThread(await ui.channelMessage('Restore of a9s-pg requested'));

      const long = 'x'.repeat(3000);
      await ui.command(long);
      const mine = await ui.channelMessage(long);
      expect(await mine.locator('.name').textContent()).toBe('bob');
      expect(await overflow()).toEqual(fits);
      // The command is echoed under the composer, its answer quotes it: both must wrap too.
      await ui.command(`/pgbackup ${'y'.repeat(3000)}`);
      await ui.channelEphemeral('Unknown subcommand');
      expect(await overflow()).toEqual(fits);
      // Once help has answered, a command run from the plain message would have answered too.
      await ui.command('/pgbackup help');
      await ui.channelEphemeral('Usage of /pgbackup');
      expect(await ui.page.locator('#messages .msg.ephemeral').filter({ hasText: 'Unknown subcommand "x' }).count()).toBe(0);
      expect(pageErrors).toEqual([]);
      await screenshot('sandbox-long-text.png');
    } catch (error) {
      await screenshot('sandbox-failure.png');
      throw error;
    }
  }, 60_000);

  it('offers examples under the composer that each work as typed', async () => {
    try {
      await ui.switchUser(ALICE);
      const chips = ui.page.locator('#examples button.example');
      await chips.first().waitFor();
      const examples = await chips.allTextContents();
      expect(examples.some((e) => /^\/pgbackup restore \d+ /.test(e))).toBe(true);
      const items = ui.page.locator('#messages .msg[data-ts]');
      for (const example of examples) {
        const before = await items.count();
        await chips.filter({ hasText: example }).first().click();
        expect(await ui.page.locator('#command').inputValue()).toBe(example);
        await ui.page.locator('#command').press('Enter');
        // The bot's first answer to it, whatever it is, must be no error or refusal.
        await items.nth(before).waitFor();
        // The bot says no with a leading :warning:, :no_entry: or :lock:; Slack with "failed with the error".
        const answers = (await items.locator('.content').allTextContents()).slice(before);
        for (const answer of answers) expect({ example, answer: answer.trim() }).not.toMatchObject({ answer: expect.stringMatching(/^(⚠️|⛔|🔒)|failed with the error/) });
      }
      const id = /^\/pgbackup restore (\d+) /.exec(examples.find((e) => e.includes('restore')) ?? '')?.[1] ?? '?';
      // The request the example opened: pending, for the very backup it names.
      const card = await ui.channelMessage(new RegExp(`Restore of a9s-pg requested[\\s\\S]*Backup\\s*${id}\\s*·[\\s\\S]*Waiting for approval`));
      expect(await card.locator('button.blk-btn[data-action-id="restore_approve"]').count()).toBe(1);
      expect(pageErrors).toEqual([]);
      await screenshot('sandbox-examples.png');
    } catch (error) {
      await screenshot('sandbox-failure.png');
      throw error;
    }
  }, 60_000);
});
