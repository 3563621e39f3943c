import { blockActionsBody, signSlackRequest, slashCommandBody } from '../../src/sandbox/slack-requests';
import { until } from '../helpers/bot-process';
import { ALICE, BOB, findButton, Harness, httpPost, OPS, type Args } from '../e2e/harness';
import { isParent } from './util';

/**
 * Replays: the same signed request delivered again, as an attacker holding a copy or Slack
 * retrying (`X-Slack-Retry-Num`) would. Each is acknowledged and does nothing: no second
 * manager call, no second message. The keys are in the store, so a restart does not forget them.
 */

const parentOf = isParent(OPS.id);
const isCard = (a: Args) => a.channel === OPS.id && a.thread_ts === undefined && /Restore of .* requested/.test(a.text ?? '');

describe('fault: replayed and retried Slack requests', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await Harness.start();
  });
  afterEach(async () => {
    await h.close();
  });

  /** The signed bytes of one request, to be delivered again unchanged. */
  function signed(body: string): { body: string; headers: Record<string, string> } {
    return { body, headers: signSlackRequest(h.config.slack?.signingSecret ?? '', body).headers };
  }

  function deliver(req: { body: string; headers: Record<string, string> }, retryNum?: number): Promise<{ status: number; text: string }> {
    const headers = retryNum === undefined ? req.headers : { ...req.headers, 'x-slack-retry-num': String(retryNum), 'x-slack-retry-reason': 'http_timeout' };
    return httpPost(`${h.bot.url}/slack/events`, headers, req.body);
  }

  /** Every request ends in exactly one count (its outcome, or "ignored"): once all are counted, the bot has settled. */
  async function handled(counter: 'commands' | 'actions', n: number): Promise<void> {
    await until(`${n} ${counter} handled`, async () => {
      const total = (await h.bot.deps.metrics[counter].get()).values.reduce((sum, v) => sum + v.value, 0);
      return total >= n ? true : undefined;
    });
  }

  const commandBody = (text: string) => slashCommandBody({ user: ALICE, channel: OPS, text, responseUrl: h.slack.responseUrlFor({ user: ALICE.id, channel: OPS.id }) });

  it('a signed `now` re-sent, then re-sent with X-Slack-Retry-Num: 1, starts one backup and posts one parent', async () => {
    const now = signed(commandBody('now'));
    expect((await deliver(now)).status).toBe(200);
    await h.waitFor('chat.postMessage', parentOf);
    const again = await deliver(now);
    expect(again.status).toBe(200);
    const retried = await deliver(now, 1);
    expect(retried.status).toBe(200);
    await handled('commands', 3);

    expect(h.managerRequests('POST', '/backup_agent/backup')).toHaveLength(1);
    expect(h.callsOf('chat.postMessage', parentOf)).toHaveLength(1);
    // The repeats are answered with an empty ack: nothing for the person to read twice.
    expect(again.text).toBe('');
    expect(retried.text).toBe('');
  });

  it('two copies of `now` arriving together start one backup', async () => {
    const now = signed(commandBody('now'));
    const answers = await Promise.all([deliver(now), deliver(now, 1)]);
    expect(answers.map((a) => a.status)).toEqual([200, 200]);
    await handled('commands', 2);
    await h.waitFor('chat.postMessage', parentOf);
    expect(h.managerRequests('POST', '/backup_agent/backup')).toHaveLength(1);
  });

  it('a replayed `restore` command posts one card', async () => {
    const backupId = h.sim.seedBackup('a9s-pg', { status: 'done', createdAt: new Date(Date.now() - 3_600_000) });
    const restore = signed(commandBody(`restore ${backupId} a9s-pg bad migration`));
    await deliver(restore);
    await h.waitFor('chat.postMessage', isCard);
    await deliver(restore);
    await deliver(restore, 1);
    await handled('commands', 3);
    expect(h.callsOf('chat.postMessage', isCard)).toHaveLength(1);
    expect(h.bot.deps.store.restores.pendingCount()).toBe(1);
  });

  it('a replayed Restore… click opens one restore form', async () => {
    const backupId = h.sim.seedBackup('a9s-pg', { status: 'done', createdAt: new Date(Date.now() - 3_600_000) });
    const message = { ts: '1700000000.000100', blocks: [] as unknown[] };
    // The button as `list` renders it; the click arrives from that (ephemeral) message.
    await h.command('list');
    const list = await h.waitForEphemeral(ALICE.id, /Latest backups/);
    expect(list).toMatch(/restore_open/);
    const listed = h.slack.responses.find((r) => r.user === ALICE.id && /restore_open/.test(JSON.stringify(r.body)));
    const blocks = (listed?.body as { blocks?: unknown[] } | undefined)?.blocks ?? [];
    const button = findButton(blocks, 'restore_open');
    if (!button) throw new Error('no Restore… button in the list');
    const click = signed(
      blockActionsBody({
        user: BOB,
        channel: OPS,
        messageTs: message.ts,
        isEphemeral: true,
        responseUrl: h.slack.responseUrlFor({ user: BOB.id, channel: OPS.id }),
        action: { actionId: 'restore_open', blockId: button.blockId, value: button.value, text: button.text },
      }),
    );
    expect(JSON.parse(button.value)).toMatchObject({ backupId });
    expect((await deliver(click)).status).toBe(200);
    // The button opens the restore form (issue 13); a replay must not open a second one.
    await h.waitFor('views.open', () => true);
    expect((await deliver(click)).status).toBe(200);
    expect((await deliver(click, 1)).status).toBe(200);
    await handled('actions', 3);
    expect(h.callsOf('views.open', () => true)).toHaveLength(1);
    expect(h.bot.deps.store.restores.pendingCount()).toBe(0);
  });

  it('a replay after a restart is still recognised: the keys are in the store', async () => {
    const now = signed(commandBody('now'));
    await deliver(now);
    await h.waitFor('chat.postMessage', parentOf);
    await h.bot.stop();
    await h.startBot();
    expect((await deliver(now)).status).toBe(200);
    await handled('commands', 1);
    expect(h.managerRequests('POST', '/backup_agent/backup')).toHaveLength(1);
    expect(h.callsOf('chat.postMessage', parentOf)).toHaveLength(1);
  });

  it('a second `now` of its own (another trigger_id) still starts a second backup', async () => {
    await deliver(signed(commandBody('now')));
    await h.waitFor('chat.postMessage', parentOf);
    await deliver(signed(commandBody('now')));
    await handled('commands', 2);
    await until('a second parent', () => (h.callsOf('chat.postMessage', parentOf).length === 2 ? true : undefined));
    expect(h.managerRequests('POST', '/backup_agent/backup')).toHaveLength(2);
  });
});
