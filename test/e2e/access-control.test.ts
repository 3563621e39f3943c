import { GROUP_CACHE_MAX_MS } from '../../src/use-cases/access/groups';
import type { RecordedCall } from '../../src/sandbox/fake-slack';
import { ALERTS, ALICE, BOB, CAROL, EVE, Harness, OPS, textOf, type Args, type HarnessOptions } from './harness';

const PG = 'pg-orders';
const OPERATORS_GROUP = 'S0OPERATORS';
const APPROVERS_GROUP = 'S0APPROVERS';
const isCard = (a: Args) => a.thread_ts === undefined && /Restore of .* requested/.test(a.text ?? '');

interface Card {
  ts: string;
  blocks: unknown[];
}

/** A clock the test moves forward, so the group cache expires without waiting five minutes. */
function movableClock(): { now: () => number; advance(ms: number): void } {
  let offset = 0;
  return { now: () => Date.now() + offset, advance: (ms) => void (offset += ms) };
}

async function setup(env: Record<string, string>, extra: Pick<HarnessOptions, 'bot'> = {}): Promise<Harness> {
  return Harness.start({
    env,
    simulator: { instances: [PG] },
    slack: { usergroups: { [OPERATORS_GROUP]: [ALICE.id], [APPROVERS_GROUP]: [BOB.id] } },
    ...extra,
  });
}

async function requestCard(h: Harness, user = ALICE, channel = OPS): Promise<Card> {
  const backupId = h.sim.seedBackup(PG, { status: 'done', size: 1024, createdAt: new Date(Date.now() - 3_600_000) });
  await h.command(`restore ${backupId} ${PG} bad migration`, user, channel);
  const call = await h.waitFor('chat.postMessage', (a) => a.channel === channel.id && isCard(a));
  return { ts: (call.response as { ts: string }).ts, blocks: (call.args as Args).blocks ?? [] };
}

const restorePosts = (h: Harness) => h.managerRequests('POST', '/backup_agent/restores');
const refusals = (h: Harness) => h.bot.deps.store.audit.latest().filter((e) => e.action === 'access.refused');
const cardUpdate = (h: Harness, card: Card, pattern: RegExp): Promise<RecordedCall> =>
  h.waitFor('chat.update', (a) => a.ts === card.ts && pattern.test(textOf(a)));

describe('access control: channels, operators, approver groups', () => {
  let h: Harness;
  afterEach(async () => {
    await h.close();
  });

  it('refuses a command from a channel not in ALLOWED_CHANNELS: says where to go, no manager call, audited', async () => {
    h = await setup({ ALLOWED_CHANNELS: OPS.id });
    const aboutPg = () => h.sim.requests.filter((r) => r.method === 'POST' || r.path.includes(PG));
    const { ack } = await h.command(`now ${PG}`, ALICE, ALERTS);
    expect(ack.response_type).toBe('ephemeral');
    expect(textOf(ack)).toMatch(/not take commands or buttons in this channel/);
    expect(textOf(ack)).toContain(`<#${OPS.id}>`);
    const list = await h.command(`list ${PG}`, ALICE, ALERTS);
    expect(textOf(list.ack)).toMatch(/not take commands/);
    // The refusal is the ack itself: once it is in, the bot has done all it will do.
    expect(aboutPg()).toEqual([]);
    expect(refusals(h).map((e) => [e.actor, e.details.reason, e.details.action, e.details.channel])).toEqual([
      [ALICE.id, 'channel', 'list', ALERTS.id],
      [ALICE.id, 'channel', 'now', ALERTS.id],
    ]);

    const allowed = await h.command(`now ${PG}`, ALICE, OPS);
    expect(textOf(allowed.ack)).toMatch(/Asking the Backup Manager/);
    await h.waitFor('chat.postMessage', (a) => a.channel === OPS.id);
    expect(h.managerRequests('POST', '/backup_agent/backup')).toHaveLength(1);
  });

  it('lets only OPERATORS (a user group here) run `now` and request restores; `list` stays open', async () => {
    h = await setup({ OPERATORS: OPERATORS_GROUP });
    const now = await h.command(`now ${PG}`, EVE);
    expect(textOf(now.ack)).toMatch(/not one of the operators allowed to start backups/);
    const backupId = h.sim.seedBackup(PG, { status: 'done' });
    const restore = await h.command(`restore ${backupId} ${PG} because`, EVE);
    expect(textOf(restore.ack)).toMatch(/not one of the operators allowed to request restores/);

    await h.command(`list ${PG}`, EVE);
    await h.waitForEphemeral(EVE.id, new RegExp(`${backupId}`));
    expect(h.managerRequests('POST')).toHaveLength(0);
    expect(h.bot.deps.store.restores.inState('pending')).toHaveLength(0);
    expect(refusals(h).map((e) => [e.actor, e.details.reason])).toEqual([
      [EVE.id, 'not-operator'],
      [EVE.id, 'not-operator'],
    ]);

    const alice = await h.command(`now ${PG}`, ALICE);
    expect(textOf(alice.ack)).toMatch(/Asking the Backup Manager/);
    await h.waitFor('chat.postMessage', (a) => a.channel === OPS.id);
    expect(h.managerRequests('POST', '/backup_agent/backup')).toHaveLength(1);
  });

  it('refuses the Restore… button of a non-operator', async () => {
    h = await setup({ OPERATORS: ALICE.id });
    h.sim.seedBackup(PG, { status: 'done' });
    await h.command(`list ${PG}`, EVE);
    const list = await h.slack.waitForResponse((r) => r.user === EVE.id && /restore_open/.test(JSON.stringify(r.body)));
    const blocks = (list.body as Args).blocks ?? [];
    await h.click({ ts: '1.000001', blocks }, 'restore_open', EVE);
    await h.waitForEphemeral(EVE.id, /not one of the operators allowed to request restores/);
    expect(h.bot.deps.store.restores.inState('pending')).toHaveLength(0);
    expect(h.callsOf('views.open')).toHaveLength(0);
  });

  it('takes approver group membership from Slack: a grant and a revocation count once the cache time has passed', async () => {
    const clock = movableClock();
    h = await setup({ RESTORE_APPROVERS: APPROVERS_GROUP, RESTORE_APPROVALS: '2' }, { bot: { clock: clock.now } });
    const card = await requestCard(h);

    await h.click(card, 'restore_approve', CAROL);
    await h.waitForEphemeral(CAROL.id, /not one of the people allowed to approve/);
    expect(h.callsOf('usergroups.users.list', (a) => a.usergroup === APPROVERS_GROUP)).toHaveLength(1);

    // Granted in Slack: still refused while the cached membership is fresh...
    h.slack.usergroups.set(APPROVERS_GROUP, [BOB.id, CAROL.id]);
    await h.click(card, 'restore_approve', CAROL);
    await waitForNthEphemeral(h, CAROL.id, /not one of the people allowed to approve/, 2);
    expect(h.callsOf('usergroups.users.list')).toHaveLength(1);

    // ...and taken within the cache time.
    clock.advance(GROUP_CACHE_MAX_MS + 1);
    await h.click(card, 'restore_approve', CAROL);
    await h.waitForEphemeral(CAROL.id, /Approval recorded; 1 more needed/);

    // Revoked in Slack: Bob, a member when the request was made, can no longer approve.
    h.slack.usergroups.set(APPROVERS_GROUP, [CAROL.id]);
    clock.advance(GROUP_CACHE_MAX_MS + 1);
    await h.click(card, 'restore_approve', BOB);
    await h.waitForEphemeral(BOB.id, /not one of the people allowed to approve/);
    expect(h.bot.deps.store.restores.get(1)).toMatchObject({ state: 'pending', approvals: [{ userId: CAROL.id }] });
    expect(restorePosts(h)).toHaveLength(0);
  });

  it('fails closed when a group can not be read: told so, nothing runs, audited; the next lookup decides again', async () => {
    h = await setup({ RESTORE_APPROVERS: APPROVERS_GROUP });
    const card = await requestCard(h);
    h.slack.failNext('usergroups.users.list', { error: 'missing_scope' });
    await h.click(card, 'restore_approve', BOB);
    await h.waitForEphemeral(BOB.id, /could not check your membership of the user group S0APPROVERS/);
    expect(refusals(h).map((e) => [e.actor, e.details.reason, e.details.action])).toEqual([[BOB.id, 'membership-unknown', 'restore.approve']]);
    expect(h.bot.deps.store.restores.get(1)).toMatchObject({ state: 'pending', approvals: [] });
    expect(restorePosts(h)).toHaveLength(0);

    // A failure is not cached: once Slack answers, Bob's membership counts.
    await h.click(card, 'restore_approve', BOB);
    await cardUpdate(h, card, /Restore running/);
    expect(restorePosts(h)).toHaveLength(1);
  });

  it('fails closed for operators too: a failed lookup refuses `now` before anything reaches the manager', async () => {
    h = await setup({ OPERATORS: OPERATORS_GROUP });
    h.slack.failNext('usergroups.users.list', { status: 500 });
    const { ack } = await h.command(`now ${PG}`, ALICE);
    expect(textOf(ack)).toMatch(/could not check your membership/);
    expect(h.managerRequests('POST')).toHaveLength(0);
  });

  it('lets only approvers reject; the requester still withdraws with Reject', async () => {
    h = await setup({ RESTORE_APPROVERS: APPROVERS_GROUP });
    const card = await requestCard(h);
    await h.click(card, 'restore_reject', EVE);
    await h.waitForEphemeral(EVE.id, /not one of the people allowed to approve or reject/);
    expect(h.bot.deps.store.restores.get(1)?.state).toBe('pending');
    await h.click(card, 'restore_approve', ALICE);
    await h.waitForEphemeral(ALICE.id, /you can not approve it/);
    await h.click(card, 'restore_reject', ALICE);
    await cardUpdate(h, card, /Withdrawn/);
    expect(restorePosts(h)).toHaveLength(0);
    expect(refusals(h).map((e) => [e.actor, e.details.reason, e.details.action])).toEqual([
      [ALICE.id, 'self-approval', 'restore.approve'],
      [EVE.id, 'not-approver', 'restore.reject'],
    ]);
  });

  it('refuses clicks on a card whose channel is no longer allowed', async () => {
    h = await setup({});
    const card = await requestCard(h, ALICE, ALERTS);
    await h.bot.stop({ drainMs: 2000 });
    await h.startBot({ ALLOWED_CHANNELS: OPS.id });
    await h.click(card, 'restore_approve', BOB, ALERTS);
    await h.waitForEphemeral(BOB.id, /not take commands or buttons in this channel/);
    expect(h.bot.deps.store.restores.get(1)?.state).toBe('pending');
    expect(restorePosts(h)).toHaveLength(0);
  });

  it('ends a request only at the RESTORE_REJECTIONS-th rejection', async () => {
    h = await setup({ RESTORE_REJECTIONS: '2' });
    const card = await requestCard(h);
    await h.click(card, 'restore_reject', BOB);
    await h.waitForEphemeral(BOB.id, /Rejection recorded; 1 more end the request/);
    await cardUpdate(h, card, /U0BOB.*rejected at/);
    expect(h.bot.deps.store.restores.get(1)?.state).toBe('pending');
    await h.click(card, 'restore_reject', BOB);
    await h.waitForEphemeral(BOB.id, /already rejected/);
    await h.click(card, 'restore_reject', CAROL);
    await cardUpdate(h, card, /Rejected.*U0CAROL/);
    expect(h.bot.deps.store.restores.get(1)).toMatchObject({ state: 'rejected', rejections: [{ userId: BOB.id }, { userId: CAROL.id }] });
    await h.click(card, 'restore_approve', EVE);
    await h.waitForEphemeral(EVE.id, /already decided/);
    expect(restorePosts(h)).toHaveLength(0);
  });
});

describe('restore requests in a modal', () => {
  let h: Harness;
  afterEach(async () => {
    await h.close();
  });

  async function clickRestoreOf(backupId: number, instance: string, user = ALICE, channel = OPS): Promise<RecordedCall> {
    await h.command(`list ${instance}`, user, channel);
    const list = await h.slack.waitForResponse((r) => r.user === user.id && /restore_open/.test(JSON.stringify(r.body)));
    // The list is ephemeral (no message ts of its own); the button's value picks the backup.
    await h.click({ ts: '1700000000.000001', blocks: (list.body as Args).blocks ?? [] }, 'restore_open', user, channel, JSON.stringify({ instance, backupId }));
    return h.waitFor('views.open');
  }

  it('Restore… opens a modal with the backup; a missing required reason is an error in the modal; a valid one posts the card where the modal came from', async () => {
    h = await setup({ RESTORE_REASON: 'required' });
    const backupId = h.sim.seedBackup(PG, { status: 'done', size: 44985152, createdAt: new Date(Date.now() - 2 * 3_600_000) });
    const opened = await clickRestoreOf(backupId, PG, ALICE, ALERTS);
    const modal = JSON.stringify((opened.args as { view: unknown }).view);
    expect(modal).toContain(PG);
    expect(modal).toContain(String(backupId));
    expect(modal).toMatch(/42\.9 MiB/);
    expect(modal).toMatch(/2h \d+m ago|2h ago/);
    expect(modal).toMatch(/"block_id":"reason"/);
    expect(modal).not.toMatch(/"block_id":"confirm"/);
    expect(h.callsOf('chat.postMessage', isCard)).toHaveLength(0);

    const empty = await h.submitView(opened, { reason: { reason_input: '   ' } });
    expect(empty.ack).toEqual({ response_action: 'errors', errors: { reason: expect.stringMatching(/reason is required/) } });
    const tooLong = await h.submitView(opened, { reason: { reason_input: 'x'.repeat(501) } });
    expect(tooLong.ack.errors?.reason).toMatch(/At most 500/);
    expect(h.bot.deps.store.restores.inState('pending')).toHaveLength(0);

    const valid = await h.submitView(opened, { reason: { reason_input: 'orders table dropped' } });
    expect(valid.ack).toEqual({});
    const card = await h.waitFor('chat.postMessage', (a) => a.channel === ALERTS.id && isCard(a));
    expect(textOf(card.args as Args)).toMatch(/orders table dropped/);
    expect(h.bot.deps.store.restores.inState('pending')).toMatchObject([{ requester: ALICE.id, channel: ALERTS.id, backupId, reason: 'orders table dropped' }]);
  });

  it('an a9s-pg modal shows the impact and needs "a9s-pg" typed to confirm', async () => {
    h = await setup({});
    const chosen = h.sim.seedBackup('a9s-pg', { status: 'done', createdAt: new Date(Date.now() - 2 * 86_400_000) });
    const later = h.sim.seedBackup('a9s-pg', { status: 'done', createdAt: new Date(Date.now() - 86_400_000) });
    const opened = await clickRestoreOf(chosen, 'a9s-pg');
    const modal = JSON.stringify((opened.args as { view: unknown }).view);
    expect(modal).toMatch(/unavailable/);
    expect(modal).toContain(`• ${later}`);
    expect(modal).toMatch(/"block_id":"confirm"/);

    const missing = await h.submitView(opened, { reason: { reason_input: 'rollback' }, confirm: { confirm_input: null } });
    expect(missing.ack.errors).toEqual({ confirm: expect.stringMatching(/Type a9s-pg exactly/) });
    const wrong = await h.submitView(opened, { reason: { reason_input: 'rollback' }, confirm: { confirm_input: 'a9s pg' } });
    expect(wrong.ack.errors?.confirm).toMatch(/Type a9s-pg exactly/);
    expect(h.bot.deps.store.restores.inState('pending')).toHaveLength(0);

    const ok = await h.submitView(opened, { reason: { reason_input: null }, confirm: { confirm_input: ' a9s-pg ' } });
    expect(ok.ack).toEqual({});
    await h.waitFor('chat.postMessage', (a) => a.channel === OPS.id && isCard(a) && /a9s-pg/.test(a.text ?? ''));
    expect(h.bot.deps.store.restores.inState('pending')).toMatchObject([{ instance: 'a9s-pg', backupId: chosen, reason: '' }]);
  });

  it('RESTORE_REASON=required: `restore <backup>` without a reason opens the modal, with one posts the card as before', async () => {
    h = await setup({ RESTORE_REASON: 'required' });
    const backupId = h.sim.seedBackup(PG, { status: 'done' });
    await h.command(`restore ${backupId} ${PG}`);
    const opened = await h.waitFor('views.open');
    expect(JSON.stringify((opened.args as { view: unknown }).view)).toMatch(/Required/);
    expect(h.bot.deps.store.restores.inState('pending')).toHaveLength(0);
    expect(h.callsOf('chat.postMessage', isCard)).toHaveLength(0);

    await h.command(`restore ${backupId} ${PG} broken deploy`);
    const card = await h.waitFor('chat.postMessage', isCard);
    expect(textOf(card.args as Args)).toMatch(/broken deploy/);
    expect(h.callsOf('views.open')).toHaveLength(1);
  });

  it('checks the rules again on submission: an operator removed meanwhile is refused, nothing is requested', async () => {
    const clock = movableClock();
    h = await setup({ OPERATORS: OPERATORS_GROUP }, { bot: { clock: clock.now } });
    const backupId = h.sim.seedBackup(PG, { status: 'done' });
    const opened = await clickRestoreOf(backupId, PG);
    h.slack.usergroups.set(OPERATORS_GROUP, []);
    clock.advance(GROUP_CACHE_MAX_MS + 1);
    const res = await h.submitView(opened, { reason: { reason_input: 'late' } });
    expect(res.ack).toEqual({});
    await h.waitForEphemeral(ALICE.id, /not one of the operators allowed to request restores/);
    expect(h.bot.deps.store.restores.inState('pending')).toHaveLength(0);
    expect(refusals(h).map((e) => e.details.action)).toEqual(['restore_modal']);
  });
});

/** Waits until `user` has had `n` ephemerals matching `pattern` (a repeated refusal looks like the first). */
function waitForNthEphemeral(h: Harness, user: string, pattern: RegExp, n: number, timeoutMs = 10_000): Promise<void> {
  const enough = () => h.ephemerals(user).filter((t) => pattern.test(t)).length >= n;
  if (enough()) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const check = () => {
      if (!enough()) return;
      cleanup();
      resolve();
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`fewer than ${n} ephemerals for ${user} matching ${pattern}`));
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      h.slack.events.off('response', check);
      h.slack.events.off('call', check);
    };
    h.slack.events.on('response', check);
    h.slack.events.on('call', check);
  });
}
