import Database from 'better-sqlite3';
import { ALICE, BOB, Harness, OPS, textOf, type Args, type HarnessOptions } from '../e2e/harness';
import { expectNothingLeaked, outboxSettled } from './util';

/**
 * A restore whose start the manager never confirmed, or whose request went stale: the bot
 * must not report an outcome it did not see, must not hold the instance's lock on nothing, and
 * must send no restore of a backup that is gone.
 */

const PG = 'pg-orders';
const RESTORE_POST = '/backup_agent/restores';
const MONTH = 30 * 86_400_000;
const isCard = (a: Args) => a.channel === OPS.id && a.thread_ts === undefined && /Restore of .* requested/.test(a.text ?? '');
const inThread = (ts: string, pattern: RegExp) => (a: Args) => a.thread_ts === ts && pattern.test(textOf(a));

interface Card {
  ts: string;
  blocks: unknown[];
}

describe('fault: restores the manager did not confirm, and stale requests', () => {
  let h: Harness;

  afterEach(async () => {
    await h.close();
  });

  async function start(options: HarnessOptions = {}): Promise<Harness> {
    h = await Harness.start({ simulator: { instances: [PG] }, ...options });
    return h;
  }

  const restorePosts = () => h.managerRequests('POST', RESTORE_POST);
  const cardUpdate = (card: Card, pattern: RegExp) => h.waitFor('chat.update', (a) => a.ts === card.ts && pattern.test(textOf(a)));

  async function requestCard(instance: string, backupId: number, user = ALICE): Promise<Card> {
    await h.command(`restore ${backupId} ${instance} bad migration`, user);
    const call = await h.waitFor('chat.postMessage', (a) => isCard(a) && textOf(a).includes(`backup ${backupId}`));
    return { ts: (call.response as { ts: string }).ts, blocks: (call.args as Args).blocks ?? [] };
  }

  /**
   * Stops the bot and writes what a kill -9 after BOB's approval of request 1 leaves in the
   * state file; `set` is the rest of the request's row at that moment (`@at`: the approval's time).
   */
  async function killedAfterApproval(set: string): Promise<void> {
    await h.bot.stop();
    const db = new Database(h.env().STATE_DB as string);
    const at = Date.now();
    db.prepare('INSERT INTO restore_approvals (request_id, user_id, approved_at) VALUES (1, ?, ?)').run(BOB.id, at);
    db.prepare(`UPDATE restore_requests SET decided_by = @by, decided_at = @at, ${set} WHERE id = 1`).run({ by: BOB.id, at });
    db.close();
  }

  /** The request ended as not started: said in the thread and on the card, never "succeeded", the lock released. */
  async function endsNotStarted(card: Card, instance: string): Promise<string> {
    const summary = await h.waitFor('chat.postMessage', inThread(card.ts, /not started/));
    await cardUpdate(card, /Not started/);
    await outboxSettled(h);
    const text = textOf(summary.args as Args);
    expect(text).toMatch(/did not confirm/);
    expect(text).toMatch(/Before retrying, check/);
    expect(text).not.toMatch(/took/);
    // Settled: the summary was the last word; nothing claims an outcome after it.
    expect(h.callsOf('chat.postMessage', inThread(card.ts, /succeeded|Restore finished/))).toHaveLength(0);
    expect(h.bot.deps.store.restores.lockHolder(instance)).toBeUndefined();
    expect(h.bot.deps.store.restores.get(1)?.state).toBe('not_started');
    return text;
  }

  it("a 502 to the restore POST, with last month's restore of the same backup listed: not started, never \"succeeded\", the lock released", async () => {
    await start();
    const backupId = h.sim.seedBackup(PG, { status: 'done', createdAt: new Date(Date.now() - 2 * MONTH) });
    h.sim.seedRestore(PG, { backupId, status: 'done', createdAt: new Date(Date.now() - MONTH) });
    await h.sim.setFault({ kind: 'status', status: 502, method: 'POST', path: RESTORE_POST, times: 1 });
    const card = await requestCard(PG, backupId);
    await h.click(card, 'restore_approve', BOB);
    await h.waitFor('chat.postMessage', inThread(card.ts, /did not confirm the start/));
    await endsNotStarted(card, PG);
    expect(restorePosts()).toHaveLength(1);
    expect(h.sim.view(PG).restores).toHaveLength(1);
    // The instance is free again: a new request can be approved and run.
    const next = h.sim.seedBackup(PG, { status: 'done' });
    const card2 = await requestCard(PG, next);
    await h.click(card2, 'restore_approve', BOB);
    await cardUpdate(card2, /Restore running/);
    expect(restorePosts()).toHaveLength(2);
    expectNothingLeaked(h);
  });

  /**
   * Last month's failed restore of the same backup is listed; the restore POST's connection is
   * reset after the manager queued it; the restore then runs to success. Returns its card.
   */
  async function restoreAfterResetPost(): Promise<Card> {
    const backupId = h.sim.seedBackup(PG, { status: 'done', createdAt: new Date(Date.now() - 2 * MONTH) });
    h.sim.seedRestore(PG, { backupId, status: 'failed', msg: 'last month', createdAt: new Date(Date.now() - MONTH) });
    await h.sim.setFault({ kind: 'reset', method: 'POST', path: RESTORE_POST, afterProcessing: true, times: 1 });
    const card = await requestCard(PG, backupId);
    await h.click(card, 'restore_approve', BOB);
    await h.waitFor('chat.postMessage', inThread(card.ts, /did not confirm the start/));
    await h.sim.step();
    await h.sim.step();
    await h.waitFor('chat.postMessage', inThread(card.ts, /Restore of `pg-orders` to backup .* succeeded/));
    return card;
  }

  it('the connection reset after the manager queued the restore: the restore it made is followed to success', async () => {
    await start();
    const card = await restoreAfterResetPost();
    await cardUpdate(card, /Restore finished/);
    const own = h.sim.view(PG).restores.at(-1);
    expect(h.bot.deps.store.restores.get(1)?.managerRestoreId).toBe(own?.id);
    expect(h.callsOf('chat.postMessage', inThread(card.ts, /last month/))).toHaveLength(0);
    expect(restorePosts()).toHaveLength(1);
  });

  it("the connection reset after the manager queued the restore, the agent log telling the end before the manager's list is read again: the restore's id is still recorded", async () => {
    // No scheduled read while the restore is followed (an hour's interval): the log's success
    // line is the first sign. Under load this is what the 30 ms reads lose the race to.
    await start({ env: { POLL_INTERVAL_MS: '3600000' } });
    await restoreAfterResetPost();
    const own = h.sim.view(PG).restores.at(-1);
    expect(own?.id).toBeDefined();
    expect(h.bot.deps.store.restores.get(1)?.managerRestoreId).toBe(own?.id);
    expect(restorePosts()).toHaveLength(1);
  });

  it('a 502 to the restore POST of a9s-pg, the manager staying up: not started instead of following for hours', async () => {
    await start();
    const backupId = h.sim.seedBackup('a9s-pg', { status: 'done', createdAt: new Date(Date.now() - MONTH) });
    h.sim.seedBackup('a9s-pg', { status: 'done' });
    await h.sim.setFault({ kind: 'status', status: 502, method: 'POST', path: RESTORE_POST, times: 1 });
    const card = await requestCard('a9s-pg', backupId);
    await h.click(card, 'restore_approve', BOB);
    const text = await endsNotStarted(card, 'a9s-pg');
    expect(text).toMatch(/stayed up/);
    expect(text).not.toMatch(/no longer known/);
    expect(restorePosts()).toHaveLength(1);
  });

  it('killed while sending the POST (claimed, no answer stored): after the restart the card shows the restore running, then not started; nothing is sent again', async () => {
    await start();
    const backupId = h.sim.seedBackup(PG, { status: 'done', createdAt: new Date(Date.now() - 2 * MONTH) });
    h.sim.seedRestore(PG, { backupId, status: 'done', createdAt: new Date(Date.now() - MONTH) });
    const card = await requestCard(PG, backupId);
    await outboxSettled(h);
    // What a kill -9 after the POST's claim, before its answer was stored, leaves behind.
    await killedAfterApproval("state = 'approved', post_claimed_at = @at, post_epoch = 0");
    await h.startBot();
    await cardUpdate(card, /Restore running/);
    await h.waitFor('chat.postMessage', inThread(card.ts, /restarted while starting/));
    await endsNotStarted(card, PG);
    expect(restorePosts()).toHaveLength(0);
  });

  it('killed between the approval and the POST\'s claim: nothing was sent, so after the restart the approved restore starts, once', async () => {
    await start();
    const backupId = h.sim.seedBackup(PG, { status: 'done', createdAt: new Date(Date.now() - MONTH) });
    const card = await requestCard(PG, backupId);
    await outboxSettled(h);
    // What a kill -9 right after the approval's commit leaves behind (or an approval taken by a
    // follower replica, waiting for the leader).
    await killedAfterApproval("state = 'approved'");
    await h.startBot();
    await cardUpdate(card, /Restore running/);
    expect(restorePosts()).toHaveLength(1);
    await h.sim.step();
    await h.sim.step();
    await h.waitFor('chat.postMessage', inThread(card.ts, /Restore of `pg-orders` to backup .* succeeded/));
    expect(restorePosts()).toHaveLength(1);
    expect(h.callsOf('chat.postMessage', inThread(card.ts, /restarted while starting/))).toHaveLength(0);
  });

  it('killed right after the manager accepted an a9s-pg restore (no id in its answer): after the restart it is never called "not started"', async () => {
    // No log source and a manager that stays up: no sign of the restore will ever show. The
    // accepted POST is the evidence; only the timeout may end it, as unknown.
    await start({ env: { LOG_TAIL_FILE: '', RESTORE_TIMEOUT_MS: '1500' } });
    const backupId = h.sim.seedBackup('a9s-pg', { status: 'done', createdAt: new Date(Date.now() - MONTH) });
    const card = await requestCard('a9s-pg', backupId);
    await outboxSettled(h);
    // What a kill -9 right after the 2xx to the restore POST leaves behind.
    await killedAfterApproval("state = 'running', started_at = @at, post_confirmed = 1");
    await h.startBot();
    const summary = await h.waitFor('chat.postMessage', inThread(card.ts, /Restore of `a9s-pg` to backup/));
    expect(textOf(summary.args as Args)).toMatch(/outcome unknown/);
    expect(h.bot.deps.store.restores.get(1)?.state).toBe('unknown');
    expect(h.callsOf('chat.postMessage', inThread(card.ts, /not started/))).toHaveLength(0);
    expect(restorePosts()).toHaveLength(0);
  });

  it('a 409 whose description holds <!channel>: the card shows it escaped once', async () => {
    await start();
    const backupId = h.sim.seedBackup(PG, { status: 'done' });
    await h.sim.setFault({ kind: 'status', status: 409, body: 'busy, ask <!channel> & ops', method: 'POST', path: RESTORE_POST, times: 1 });
    const card = await requestCard(PG, backupId);
    await h.click(card, 'restore_approve', BOB);
    const failed = await cardUpdate(card, /Restore failed/);
    const text = textOf(failed.args as Args);
    expect(text).toContain('busy, ask &lt;!channel&gt; &amp; ops');
    expect(text).not.toContain('&amp;lt;');
  });

  it('a backup deleted while its request waited: nothing is sent, the request ends saying why', async () => {
    await start();
    const backupId = h.sim.seedBackup(PG, { status: 'done' });
    const card = await requestCard(PG, backupId);
    h.sim.deleteBackup(PG, backupId);
    await h.click(card, 'restore_approve', BOB);
    await cardUpdate(card, /Not started.*deleted now/);
    await h.waitFor('chat.postMessage', inThread(card.ts, /Nothing was sent/));
    await outboxSettled(h);
    expect(restorePosts()).toHaveLength(0);
    expect(h.bot.deps.store.restores.lockHolder(PG)).toBeUndefined();
  });

  it('a restore of a9s-pg that made the manager forget a backup: its pending request is closed, saying why', async () => {
    await start();
    const day = 86_400_000;
    const chosen = h.sim.seedBackup('a9s-pg', { status: 'done', createdAt: new Date(Date.now() - 3 * day) });
    h.sim.seedBackup('a9s-pg', { status: 'done', createdAt: new Date(Date.now() - 2 * day) });
    const older = h.sim.seedBackup(PG, { status: 'done', createdAt: new Date(Date.now() - 4 * day) });
    const forgotten = h.sim.seedBackup(PG, { status: 'done', createdAt: new Date(Date.now() - day) });
    const staleCard = await requestCard(PG, forgotten);
    const keptCard = await requestCard(PG, older, BOB);
    const pgCard = await requestCard('a9s-pg', chosen);
    await h.click(pgCard, 'restore_approve', BOB);
    await h.waitFor('chat.postMessage', inThread(pgCard.ts, /unreachable, as expected/));
    await h.sim.step();
    await h.sim.step();
    await h.sim.step();
    await h.waitFor('chat.postMessage', inThread(pgCard.ts, /Restore of `a9s-pg` to backup .* succeeded/));
    await cardUpdate(staleCard, /Not started.*no longer known/);
    const said = await h.waitFor('chat.postMessage', inThread(staleCard.ts, /no longer known/));
    expect(textOf(said.args as Args)).toMatch(new RegExp(`restore of a9s-pg to backup ${chosen}`));
    await outboxSettled(h);
    expect(h.bot.deps.store.restores.get(2)?.state).toBe('pending');
    expect(h.callsOf('chat.update', (a) => a.ts === keptCard.ts)).toHaveLength(0);
    expect(h.bot.deps.store.restores.get(1)?.state).toBe('not_started');
  });

  it('LOG_TAIL_COMMAND with a password and a token: the follow-up names only the program', async () => {
    const secrets = ['Pa55-in-the-command', 'xoxp-9999-in-the-command'];
    await start({ env: { LOG_TAIL_FILE: '', LOG_TAIL_COMMAND: `PGPASSWORD=${secrets[0]} tail -n 0 -F /dev/null --token=${secrets[1]}` } });
    const backupId = h.sim.seedBackup(PG, { status: 'done' });
    const card = await requestCard(PG, backupId);
    await h.click(card, 'restore_approve', BOB);
    const followup = await h.waitFor('chat.postMessage', inThread(card.ts, /Backup-agent log/));
    expect(textOf(followup.args as Args)).toMatch(/Source: `tail …/);
    await h.sim.step();
    await h.sim.step();
    await h.waitFor('chat.postMessage', inThread(card.ts, /succeeded/));
    await outboxSettled(h);
    expectNothingLeaked(h, secrets);
  });

  it('LOG_TAIL_LABEL names the source instead', async () => {
    await start({ env: { LOG_TAIL_LABEL: 'agent log on pg/0' } });
    const backupId = h.sim.seedBackup(PG, { status: 'done' });
    const card = await requestCard(PG, backupId);
    await h.click(card, 'restore_approve', BOB);
    const followup = await h.waitFor('chat.postMessage', inThread(card.ts, /Backup-agent log/));
    expect(textOf(followup.args as Args)).toMatch(/Source: `agent log on pg\/0`/);
    expect(textOf(followup.args as Args)).not.toContain(h.agentLog);
  });
});
