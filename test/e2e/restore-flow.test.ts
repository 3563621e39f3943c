import { ALICE, ALERTS, BOB, CAROL, EVE, Harness, OPS, textOf, type Args } from './harness';
import { outboxSettled } from '../faults/util';
import type { RecordedCall } from '../../src/sandbox/fake-slack';
import { blockActionsBody } from '../../src/sandbox/slack-requests';
import { until } from '../helpers/bot-process';

const PG = 'pg-orders';
const isCard = (a: Args) => a.channel === OPS.id && a.thread_ts === undefined && /Restore of .* requested/.test(a.text ?? '');

interface Card {
  ts: string;
  blocks: unknown[];
}

async function setup(env: Record<string, string> = {}): Promise<Harness> {
  return Harness.start({ env, simulator: { instances: [PG] } });
}

/** Requests a restore of a fresh done backup and returns the posted card. */
async function requestCard(h: Harness, instance = PG, user = ALICE, reason = 'bad migration'): Promise<{ card: Card; backupId: number }> {
  const backupId = h.sim.seedBackup(instance, { status: 'done', size: 44985152, createdAt: new Date(Date.now() - 3_600_000) });
  await h.command(`restore ${backupId} ${instance} ${reason}`, user);
  const call = await h.waitFor('chat.postMessage', isCard);
  const args = call.args as Args;
  return { card: { ts: (call.response as { ts: string }).ts, blocks: args.blocks ?? [] }, backupId };
}

const restorePosts = (h: Harness) => h.managerRequests('POST', '/backup_agent/restores');
const cardUpdate = (h: Harness, card: Card, pattern: RegExp): Promise<RecordedCall> =>
  h.waitFor('chat.update', (a) => a.ts === card.ts && pattern.test(textOf(a)));
const inThread = (card: Card, pattern: RegExp) => (a: Args) => a.thread_ts === card.ts && pattern.test(textOf(a));

describe('restores: two-person rule, exactly once, log-tail follow-up', () => {
  let h: Harness;
  afterEach(async () => {
    await h.close();
  });

  it('posts an approval card with instance, backup, size, requester and reason', async () => {
    h = await setup();
    const { card, backupId } = await requestCard(h);
    const text = textOf(h.callsOf('chat.postMessage', isCard)[0]?.args as Args);
    expect(text).toMatch(new RegExp(`${PG}`));
    expect(text).toMatch(new RegExp(`${backupId}`));
    expect(text).toMatch(/42\.9 MiB/);
    expect(text).toMatch(/U0ALICE/);
    expect(text).toMatch(/bad migration/);
    expect(text).toMatch(/restore_approve/);
    expect(text).toMatch(/"confirm"/);
    expect(card.blocks.length).toBeGreaterThan(0);
    expect(restorePosts(h)).toHaveLength(0);
  });

  it('refuses self-approval: an ephemeral refusal, no restore, the request still pending', async () => {
    h = await setup();
    const { card } = await requestCard(h);
    await h.click(card, 'restore_approve', ALICE);
    await h.waitForEphemeral(ALICE.id, /can not approve/);
    expect(h.bot.deps.store.restores.inState('pending')).toHaveLength(1);
    // A late effect of the refused click would show by now: Bob's approval is processed after
    // it, and the restore that follows must be his alone.
    await h.click(card, 'restore_approve', BOB);
    await cardUpdate(h, card, /Restore running/);
    await h.waitFor('chat.postMessage', inThread(card, /Backup-agent log/));
    expect(restorePosts(h)).toHaveLength(1);
    const [req] = h.bot.deps.store.restores.inState('running');
    expect(req?.approvals.map((a) => a.userId)).toEqual([BOB.id]);
    expect(req?.decidedBy).toBe(BOB.id);
    expect(h.bot.deps.store.audit.latest().filter((e) => e.actor === ALICE.id && e.action === 'restore.approved')).toHaveLength(0);
  });

  it("runs exactly one restore with numeric ids on a second person's approval, then follows the log to success", async () => {
    h = await setup();
    const { card, backupId } = await requestCard(h);
    await h.click(card, 'restore_approve', BOB);
    await cardUpdate(h, card, /Restore running/);
    const view = h.sim.view(PG);
    expect(restorePosts(h)).toHaveLength(1);
    expect(restorePosts(h)[0]?.body).toEqual({ backup_id: backupId, instance_id: view.id });

    const followup = await h.waitFor('chat.postMessage', inThread(card, /Backup-agent log/));
    const followupTs = (followup.response as { ts: string }).ts;
    await h.sim.step();
    await h.sim.step();
    await h.waitFor('chat.update', (a) => a.ts === followupTs && /reports \*success\*/.test(textOf(a)) && /POST \/v1\/restore/.test(textOf(a)));
    await h.waitFor('chat.postMessage', inThread(card, /succeeded/));
    await cardUpdate(h, card, /Restore finished/);
    // The summary in the thread says it succeeded and names who asked and who approved.
    const summaries = h.callsOf('chat.postMessage', inThread(card, new RegExp(`Restore of .*${PG}.* to backup ${backupId} succeeded`)));
    expect(summaries).toHaveLength(1);
    expect(textOf(summaries[0]?.args as Args)).toMatch(/Requested by <@U0ALICE>, approved by <@U0BOB>/);
    await h.waitFor('chat.update', (a) => a.channel === ALERTS.id && /succeeded/.test(a.text ?? ''));
    expect(restorePosts(h)).toHaveLength(1);
    expect(h.bot.deps.store.audit.latest().map((e) => e.action)).toEqual(expect.arrayContaining(['restore.pending', 'restore.approved', 'restore.running', 'restore.succeeded']));
  });

  it('keeps one audit message per restore in NOTIFY_CHANNEL, edited in place up to the outcome, with a link to the thread', async () => {
    h = await setup();
    const { card } = await requestCard(h);
    const audit = await h.waitFor('chat.postMessage', (a) => a.channel === ALERTS.id);
    const auditTs = (audit.response as { ts: string }).ts;
    expect(audit.args).toMatchObject({ text: expect.stringMatching(/Restore request #1 of pg-orders .*: pending/) });
    await h.click(card, 'restore_approve', BOB);
    await h.waitFor('chat.postMessage', inThread(card, /Backup-agent log/));
    await h.sim.step();
    await h.sim.step();
    await h.waitFor('chat.postMessage', inThread(card, /Restore of `pg-orders` to backup .* succeeded/));
    const link = `https://example.slack.com/archives/${OPS.id}/p${card.ts.replace('.', '')}`;
    await h.waitFor('chat.update', (a) => a.channel === ALERTS.id && a.ts === auditTs && /: succeeded/.test(a.text ?? '') && textOf(a).includes(`<${link}|`));
    await outboxSettled(h);
    // Settled: every state went into the one message; nothing else was posted there.
    expect(h.callsOf('chat.postMessage', (a) => a.channel === ALERTS.id)).toHaveLength(1);
    const edits = h.callsOf('chat.update', (a) => a.channel === ALERTS.id);
    expect(edits.every((c) => (c.args as Args).ts === auditTs)).toBe(true);
    // Edits queued together are coalesced by the outbox; the last one says how it ended.
    expect((edits.at(-1)?.args as Args).text).toMatch(/: succeeded$/);
  });

  it('ends the follow-up as a failure on an ERROR line', async () => {
    h = await setup();
    h.sim.failNextRestore(PG, 'pg_restore: could not connect');
    const { card } = await requestCard(h);
    await h.click(card, 'restore_approve', BOB);
    const followup = await h.waitFor('chat.postMessage', inThread(card, /Backup-agent log/));
    await h.sim.step();
    await h.sim.step();
    await h.waitFor('chat.update', (a) => a.ts === (followup.response as { ts: string }).ts && /reports a \*failure\*/.test(textOf(a)));
    await h.waitFor('chat.postMessage', inThread(card, /failed/));
    await cardUpdate(h, card, /Restore failed/);
  });

  it('starts one restore when ten people approve at the same moment', async () => {
    h = await setup();
    const { card } = await requestCard(h);
    const approvers = Array.from({ length: 10 }, (_, i) => ({ id: `U0APPROVER${i}`, name: `approver${i}` }));
    const results = await Promise.all(approvers.map((u) => h.click(card, 'restore_approve', u)));
    expect(results.every((r) => r.status === 200)).toBe(true);
    await cardUpdate(h, card, /Restore running/);
    expect(restorePosts(h)).toHaveLength(1);
    expect(h.bot.deps.store.restores.get(1)?.approvals).toHaveLength(1);
  });

  it('ignores a redelivered approval: no second restore', async () => {
    h = await setup();
    const { card } = await requestCard(h);
    const body = blockActionsBody({
      user: BOB,
      channel: OPS,
      message: { ts: card.ts, text: '', blocks: card.blocks },
      messageTs: card.ts,
      isEphemeral: false,
      responseUrl: h.slack.responseUrlFor({ user: BOB.id, channel: OPS.id }),
      action: { actionId: 'restore_approve', blockId: 'restore-1', value: '1' },
    });
    expect((await h.post(body)).status).toBe(200);
    await cardUpdate(h, card, /Restore running/);
    expect((await h.post(body)).status).toBe(200);
    // Recognised as a repeat before any handler: acked, nothing said. Both clicks counted: the bot has settled.
    await until('both clicks handled', async () => ((await h.bot.deps.metrics.actions.get()).values.reduce((n, v) => n + v.value, 0) >= 2 ? true : undefined));
    expect(restorePosts(h)).toHaveLength(1);
    expect(h.ephemerals(BOB.id).filter((t) => /already decided/.test(t))).toHaveLength(0);
  });

  it("refuses a decision from another card: card A carrying request B's id changes nothing", async () => {
    h = await setup();
    const { card: cardA } = await requestCard(h);
    const other = h.sim.seedBackup(PG, { status: 'done', createdAt: new Date(Date.now() - 7_200_000) });
    await h.command(`restore ${other} ${PG} elsewhere`, ALICE, ALERTS);
    await h.waitFor('chat.postMessage', (a) => a.channel === ALERTS.id && a.thread_ts === undefined && /Restore of .* requested/.test(a.text ?? ''));
    const b = h.bot.deps.store.restores.inState('pending').find((r) => r.channel === ALERTS.id);
    if (!b) throw new Error('no request B');
    const cardJob = h.bot.deps.store.outbox.byKey(`restore:${b.id}:card`);
    if (!cardJob) throw new Error('no card job for request B');
    await h.bot.deps.outbox.settled(cardJob.id);
    expect(h.bot.deps.store.restores.get(b.id)?.cardTs).toEqual(expect.any(String));

    await h.click(cardA, 'restore_approve', BOB, OPS, String(b.id));
    await h.waitForEphemeral(BOB.id, new RegExp(`does not belong to the card of restore request #${b.id}`));
    expect(h.bot.deps.store.restores.get(b.id)).toMatchObject({ state: 'pending', approvals: [] });
    expect(h.bot.deps.store.audit.latest().some((e) => e.action === 'restore.click-refused' && e.requestId === b.id)).toBe(true);

    // Card A's own request still works; its run proves the refused click left nothing queued.
    await h.click(cardA, 'restore_approve', BOB);
    await cardUpdate(h, cardA, /Restore running/);
    expect(restorePosts(h)).toHaveLength(1);
    expect(h.bot.deps.store.restores.get(b.id)?.state).toBe('pending');
  });

  it('ends the request on Reject: no restore, the card says who rejected it, later clicks change nothing', async () => {
    h = await setup();
    const { card } = await requestCard(h);
    await h.click(card, 'restore_reject', CAROL);
    await cardUpdate(h, card, /Rejected.*U0CAROL/);
    await h.waitFor('chat.postMessage', inThread(card, /Rejected/));
    await h.click(card, 'restore_approve', BOB);
    await h.waitForEphemeral(BOB.id, /already decided/);
    expect(restorePosts(h)).toHaveLength(0);
  });

  it('lets the requester withdraw, and nobody else', async () => {
    h = await setup();
    const { card } = await requestCard(h);
    await h.click(card, 'restore_withdraw', BOB);
    await h.waitForEphemeral(BOB.id, /Only the requester/);
    await h.click(card, 'restore_withdraw', ALICE);
    await cardUpdate(h, card, /Withdrawn/);
    expect(restorePosts(h)).toHaveLength(0);
  });

  it('expires an undecided request: the card says so, a later approval changes nothing', async () => {
    h = await setup({ APPROVAL_TTL_MS: '300' });
    const { card } = await requestCard(h);
    await cardUpdate(h, card, /Expired/);
    await h.click(card, 'restore_approve', BOB);
    await h.waitForEphemeral(BOB.id, /expired/);
    expect(restorePosts(h)).toHaveLength(0);
  });

  it('refuses approvers outside RESTORE_APPROVERS', async () => {
    h = await setup({ RESTORE_APPROVERS: `${CAROL.id}` });
    const { card } = await requestCard(h);
    await h.click(card, 'restore_approve', EVE);
    await h.waitForEphemeral(EVE.id, /not one of the people allowed/);
    expect(restorePosts(h)).toHaveLength(0);
    await h.click(card, 'restore_approve', CAROL);
    await cardUpdate(h, card, /Restore running/);
    expect(restorePosts(h)).toHaveLength(1);
  });

  it('needs two distinct approvers when RESTORE_APPROVALS=2', async () => {
    h = await setup({ RESTORE_APPROVALS: '2' });
    const { card } = await requestCard(h);
    await h.click(card, 'restore_approve', BOB);
    await h.waitForEphemeral(BOB.id, /1 more needed/);
    await h.click(card, 'restore_approve', BOB);
    await h.waitForEphemeral(BOB.id, /already approved/);
    expect(restorePosts(h)).toHaveLength(0);
    await h.click(card, 'restore_approve', CAROL);
    await cardUpdate(h, card, /Restore running/);
    expect(restorePosts(h)).toHaveLength(1);
  });

  it('refuses backups and restores of an instance while its restore runs', async () => {
    h = await setup();
    const { card } = await requestCard(h);
    await h.click(card, 'restore_approve', BOB);
    await cardUpdate(h, card, /Restore running/);
    await h.command(`now ${PG}`, CAROL);
    await h.waitForEphemeral(CAROL.id, /restore of `pg-orders` is in progress/);
    const other = h.sim.seedBackup(PG, { status: 'done' });
    await h.command(`restore ${other} ${PG}`, CAROL);
    await h.waitForEphemeral(CAROL.id, /already in progress/);
    expect(h.managerRequests('POST', '/backup_agent/backup')).toHaveLength(0);
  });

  it('refuses a restore of a backup that is not done', async () => {
    h = await setup();
    const failed = h.sim.seedBackup(PG, { status: 'failed', msg: 'x' });
    await h.command(`restore ${failed} ${PG}`);
    await h.waitForEphemeral(ALICE.id, /only a backup that is done/);
    await h.command(`restore 99999 ${PG}`);
    await h.waitForEphemeral(ALICE.id, /no backup `99999`/);
    expect(h.callsOf('chat.postMessage', isCard)).toHaveLength(0);
  });
});

describe('restores of a9s-pg: the manager outage bridged', () => {
  let h: Harness;
  afterEach(async () => {
    await h.close();
  });

  async function pgCard(): Promise<{ card: Card; newer: number[]; chosen: number }> {
    const day = 86_400_000;
    const chosen = h.sim.seedBackup('a9s-pg', { status: 'done', createdAt: new Date(Date.now() - 3 * day) });
    const newer = [
      h.sim.seedBackup('a9s-pg', { status: 'done', createdAt: new Date(Date.now() - 2 * day) }),
      h.sim.seedBackup('a9s-pg', { status: 'failed', msg: 'x', createdAt: new Date(Date.now() - day) }),
    ];
    await h.command(`restore ${chosen} a9s-pg`);
    const call = await h.waitFor('chat.postMessage', isCard);
    return { card: { ts: (call.response as { ts: string }).ts, blocks: (call.args as Args).blocks ?? [] }, newer, chosen };
  }

  it('warns on the card, bridges the outage, and names the forgotten backups in the summary', async () => {
    h = await Harness.start();
    const { card, newer, chosen } = await pgCard();
    const cardText = textOf(h.callsOf('chat.postMessage', isCard)[0]?.args as Args);
    expect(cardText).toMatch(/unavailable/);
    expect(cardText).toMatch(/not recorded/);
    expect(cardText).toMatch(/Ghost instances/);
    for (const id of newer) expect(cardText).toMatch(new RegExp(`• ${id}`));

    await h.click(card, 'restore_approve', BOB);
    await cardUpdate(h, card, /Restore running/);
    expect(restorePosts(h)[0]?.body).toEqual({ backup_id: chosen, instance_id: 38 });
    await h.waitFor('chat.postMessage', inThread(card, /unreachable, as expected/));
    await h.sim.step();
    await h.sim.step();
    await h.sim.step();
    const summary = await h.waitFor('chat.postMessage', inThread(card, /Restore of `a9s-pg` to backup .* succeeded/));
    const text = textOf(summary.args as Args);
    expect(text).toMatch(/no longer known/);
    for (const id of newer) expect(text).toMatch(new RegExp(`• ${id}`));
    expect(h.callsOf('chat.postMessage', (a) => a.channel === ALERTS.id && /unreachable/i.test(a.text ?? ''))).toHaveLength(0);
    expect(h.bot.deps.store.audit.latest().some((e) => e.action === 'restore.succeeded' && e.instance === 'a9s-pg')).toBe(true);
  });

  it("lists every known instance's later backups on the card, and what the manager forgot of each in the summary", async () => {
    h = await Harness.start({ env: { ALLOWED_INSTANCES: `a9s-pg,${PG},pg-quiet,pg-unknown` }, simulator: { instances: [PG, 'pg-quiet'] } });
    const day = 86_400_000;
    // Seeded before the chosen a9s-pg backup, so with smaller ids: "after" goes by creation time.
    const older = h.sim.seedBackup(PG, { status: 'done', createdAt: new Date(Date.now() - 4 * day) });
    const later = [
      h.sim.seedBackup(PG, { status: 'done', createdAt: new Date(Date.now() - 2 * day) }),
      h.sim.seedBackup(PG, { status: 'failed', msg: 'x', createdAt: new Date(Date.now() - day) }),
    ];
    h.sim.seedBackup('pg-quiet', { status: 'done', createdAt: new Date(Date.now() - 5 * day) });
    const { card, newer } = await pgCard();
    const cardText = textOf(h.callsOf('chat.postMessage', isCard)[0]?.args as Args);
    expect(cardText).toContain('the backups of *other instances* made after this one are forgotten too');
    expect(cardText).toContain(`\`${PG}\`: 2 backups — ${later[0]} \`${PG}-`);
    expect(cardText).toMatch(new RegExp(`${later[1]} \`${PG}-\\d+\` \\(failed\\)`));
    expect(cardText).not.toMatch(new RegExp(`\\b${older} \``));
    expect(cardText).toContain('`pg-quiet`: no backups were made after this one');
    expect(cardText).toMatch(/`pg-unknown`: :warning: could not be read/);
    for (const id of newer) expect(cardText).toMatch(new RegExp(`• ${id}`));

    await h.click(card, 'restore_approve', BOB);
    await h.waitFor('chat.postMessage', inThread(card, /unreachable, as expected/));
    await h.sim.step();
    await h.sim.step();
    await h.sim.step();
    const summary = textOf((await h.waitFor('chat.postMessage', inThread(card, /Restore of `a9s-pg` to backup .* succeeded/))).args as Args);
    expect(summary).toContain('*Backups no longer known* to the Backup Manager');
    for (const id of newer) expect(summary).toMatch(new RegExp(`• ${id}`));
    expect(summary).toContain(`\`${PG}\`: 2 backups — ${later[0]} \`${PG}-`);
    expect(summary).toContain('`pg-quiet`: no backups were made after this one');
    expect(summary).toMatch(/`pg-unknown`: :warning: not compared: it could not be read before the restore/);
    expect(h.sim.view(PG).backups.map((b) => b.id)).toEqual([older]);
  });

  it('survives a restart between approval and the end: no second POST, the follow-up goes on', async () => {
    h = await Harness.start();
    const { card } = await pgCard();
    await h.click(card, 'restore_approve', BOB);
    await h.waitFor('chat.postMessage', inThread(card, /Backup-agent log/));
    await h.waitFor('chat.postMessage', inThread(card, /unreachable, as expected/));
    await h.bot.stop();
    await h.sim.step();
    await h.startBot();
    await h.sim.step();
    await h.sim.step();
    await h.waitFor('chat.postMessage', inThread(card, /succeeded/));
    expect(restorePosts(h)).toHaveLength(1);
    expect(h.callsOf('chat.postMessage', inThread(card, /Backup-agent log/))).toHaveLength(1);
    expect(h.callsOf('chat.postMessage', inThread(card, /Restore of `a9s-pg` to backup .* succeeded/))).toHaveLength(1);
  });
});
