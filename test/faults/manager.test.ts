import { ALICE, ALERTS, Harness, MANAGER_PASSWORD, OPS, textOf, type Args, type HarnessOptions } from '../e2e/harness';
import type { ScopedFault } from '../../src/simulator';
import { basicToken, delivered, outboxSettled, everythingSaid, expectHealthy, expectNothingLeaked, isParent, replyIn } from './util';

/**
 * The Backup Manager misbehaving in every way the API page lists: the bot stays up, tells the
 * person who is waiting what went wrong, never repeats a POST, and keeps its state.
 */

const BACKUP_POST = '/backup_agent/backup';
const parentOf = isParent(OPS.id);

describe('fault: the Backup Manager misbehaves', () => {
  let h: Harness;

  async function start(options: HarnessOptions = {}): Promise<Harness> {
    h = await Harness.start(options);
    return h;
  }

  afterEach(async () => {
    await h.close();
  });

  const backupPosts = () => h.managerRequests('POST', BACKUP_POST);

  /** `/pgbackup now`, then the ts of the parent message and the queued reply in its thread. */
  async function trackedBackup(): Promise<{ ts: string; backupId: number }> {
    await h.command('now');
    const parent = await h.waitFor('chat.postMessage', parentOf);
    const ts = (parent.response as { ts: string }).ts;
    await h.waitFor('chat.postMessage', replyIn(ts, 'queued'));
    const task = h.bot.deps.store.tasks.listActive()[0];
    if (!task) throw new Error('no tracked task');
    return { ts, backupId: task.backupId };
  }

  /** The thread of `ts` says queued, running, done, each once, and the store agrees. */
  async function finishesCleanly(ts: string, backupId: number, steps = 2): Promise<void> {
    for (let i = 0; i < steps; i++) await h.sim.step();
    await h.waitFor('chat.postMessage', replyIn(ts, 'done'));
    await h.waitFor('chat.update', (a) => a.ts === ts && /: done/.test(a.text ?? ''));
    const replies = delivered(h, 'chat.postMessage', (a) => a.thread_ts === ts).map((a) => /queued|running|done/.exec(a.text ?? '')?.[0]);
    expect(replies.filter((r) => r === 'done')).toHaveLength(1);
    expect(replies.filter((r) => r === 'queued')).toHaveLength(1);
    const task = h.bot.deps.store.tasks.find('a9s-pg', backupId);
    expect(task).toMatchObject({ status: 'done', active: false, parentTs: ts });
    expect(h.bot.deps.store.tasks.listActive()).toHaveLength(0);
    await outboxSettled(h);
  }

  it('down (connection refused): says "unreachable" to the person waiting, starts nothing, and a tracked backup is followed again once it is back', async () => {
    await start();
    const { ts, backupId } = await trackedBackup();

    await h.sim.setFault({ kind: 'down' });
    const { status } = await h.command('now', ALICE);
    expect(status).toBe(200);
    await h.waitForEphemeral(ALICE.id, /Could not back up.*unreachable/s);
    await h.command('list', ALICE);
    await h.waitForEphemeral(ALICE.id, /Could not list the backups.*unreachable/s);

    // While it is down the tracked backup moves on; the poller fails and backs off.
    await h.sim.step();
    await h.waitForLog(/poll failed/);
    await h.sim.setFault(null);
    await h.waitFor('chat.postMessage', replyIn(ts, 'running'));
    await finishesCleanly(ts, backupId, 1);

    expect(backupPosts()).toHaveLength(1);
    expect(h.callsOf('chat.postMessage', parentOf)).toHaveLength(1);
    // An outage is not a backup failure: nothing goes to the alert channel.
    expect(h.callsOf('chat.postMessage', (a) => a.channel === ALERTS.id)).toHaveLength(0);
    expectNothingLeaked(h);
    await expectHealthy(h.bot.url);
  });

  it('slow beyond the timeout: a slow read is "did not answer in time", no POST follows it, and the ack still comes at once', async () => {
    // undici checks these timeouts on a coarse (~0.5 s) timer: one attempt takes about a second.
    await start({ bot: { managerTimeouts: { headersTimeout: 200, bodyTimeout: 200 }, managerRetry: { retries: 0 } } });
    await h.sim.setFault({ kind: 'slow', delayMs: 3000, method: 'GET' });
    const started = Date.now();
    const { status, ack } = await h.command('now');
    expect(status).toBe(200);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(textOf(ack)).toMatch(/Asking the Backup Manager/);
    await h.waitForEphemeral(ALICE.id, /Could not back up.*unreachable/s);
    expect(backupPosts()).toHaveLength(0);
    expect(h.callsOf('chat.postMessage')).toHaveLength(0);
    expect(h.bot.deps.store.tasks.listActive()).toHaveLength(0);
    await h.sim.setFault(null);
    expectNothingLeaked(h);
    await expectHealthy(h.bot.url);
  });

  it('slow POST beyond the timeout (it did start the backup): exactly one POST, and the bot adopts the backup it finds', async () => {
    await start({ bot: { managerTimeouts: { headersTimeout: 200, bodyTimeout: 200 } } });
    await h.sim.setFault({ kind: 'slow', delayMs: 3000, method: 'POST', path: BACKUP_POST, times: 1 });
    await h.command('now');
    const parent = await h.waitFor('chat.postMessage', parentOf);
    const created = h.sim.view('a9s-pg').backups.at(-1);
    expect(textOf(parent.args as Args)).toMatch(new RegExp(`task ${created?.id}`));
    expect(backupPosts()).toHaveLength(1);
    const ts = (parent.response as { ts: string }).ts;
    await h.waitFor('chat.postMessage', replyIn(ts, 'queued'));
    await finishesCleanly(ts, created?.id ?? -1);
    expect(backupPosts()).toHaveLength(1);
    await expectHealthy(h.bot.url);
  });

  const unexpected: Array<[string, ScopedFault]> = [
    ['a 500 HTML page', { kind: 'html500', method: 'GET' }],
    ['malformed JSON', { kind: 'malformed', method: 'GET' }],
    ['JSON of the wrong shape', { kind: 'wrongShape', method: 'GET' }],
  ];

  it.each(unexpected)('%s: "unexpected answer" to the person waiting, no POST, the body logged truncated and never shown in Slack', async (_name, fault) => {
    await start();
    await h.sim.setFault(fault);
    const { status } = await h.command('now');
    expect(status).toBe(200);
    const said = await h.waitForEphemeral(ALICE.id, /Could not back up/);
    expect(said).toMatch(/unexpected answer from the Backup Manager/);
    await h.command('list');
    await h.waitForEphemeral(ALICE.id, /Could not list the backups.*unexpected answer/s);
    expect(backupPosts()).toHaveLength(0);
    expect(h.callsOf('chat.postMessage')).toHaveLength(0);
    for (const text of everythingSaid(h)) {
      expect(text).not.toMatch(/We're sorry|<html|"ok":true|"result"|backup_agent_task/i);
    }
    if (fault.kind === 'html500') expect(h.logs.some((l) => /bodySnippet.*We're sorry, but something went wrong/.test(l))).toBe(true);
    else await h.waitForLog(/unexpected/);
    await h.sim.setFault(null);
    expectNothingLeaked(h);
    await expectHealthy(h.bot.url);
  });

  it.each(unexpected)('%s while a backup is tracked: polling backs off and the thread still ends with done, once', async (_name, fault) => {
    await start();
    const { ts, backupId } = await trackedBackup();
    await h.sim.setFault({ ...fault, times: 3 });
    await h.sim.step();
    await h.waitForLog(/poll failed/);
    await h.waitFor('chat.postMessage', replyIn(ts, 'running'));
    await finishesCleanly(ts, backupId, 1);
    expect(backupPosts()).toHaveLength(1);
    expect(h.callsOf('chat.postMessage', (a) => a.channel === ALERTS.id)).toHaveLength(0);
    expectNothingLeaked(h);
    await expectHealthy(h.bot.url);
  });

  it('unknown status (paused): the thread says the status is unknown, polling goes on, and done is still reported', async () => {
    await start();
    const { ts, backupId } = await trackedBackup();
    await h.sim.setFault({ kind: 'unknownStatus', status: 'paused', id: backupId, method: 'GET' });
    const unknown = await h.waitFor('chat.postMessage', (a) => a.thread_ts === ts && /paused/.test(textOf(a)));
    expect(textOf(unknown.args as Args)).toMatch(/does not know|unknown/i);
    expect(h.bot.deps.store.tasks.find('a9s-pg', backupId)).toMatchObject({ status: 'unknown', active: true });
    const polled = h.managerRequests('GET').length;
    // Still polling while the status is unknown.
    await new Promise<void>((resolve) => {
      const onRequest = (): void => {
        if (h.managerRequests('GET').length < polled + 2) return;
        h.sim.events.off('request', onRequest);
        resolve();
      };
      h.sim.events.on('request', onRequest);
    });
    await h.sim.setFault(null);
    await h.sim.step();
    await h.sim.step();
    await h.waitFor('chat.postMessage', replyIn(ts, 'done'));
    await h.waitFor('chat.update', (a) => a.ts === ts && /: done/.test(a.text ?? ''));
    expect(h.bot.deps.store.tasks.find('a9s-pg', backupId)).toMatchObject({ status: 'done', active: false });
    const said = h.callsOf('chat.postMessage', (a) => a.thread_ts === ts).map((c) => textOf(c.args as Args));
    expect(said.filter((t) => /paused/.test(t))).toHaveLength(1);
    expect(backupPosts()).toHaveLength(1);
    expectNothingLeaked(h);
    await expectHealthy(h.bot.url);
  });

  it('401 (wrong password): "rejected the credentials", nothing started, and the password appears in no Slack call and no log line', async () => {
    const wrong = 'wrong-Passw0rd-7f3a9c';
    await start({ env: { BACKUP_MANAGER_PASSWORD: wrong, LOG_LEVEL: 'debug' } });
    const { status } = await h.command('now');
    expect(status).toBe(200);
    await h.waitForEphemeral(ALICE.id, /rejected the credentials/);
    await h.command('list');
    await h.waitForEphemeral(ALICE.id, /Could not list.*rejected the credentials/s);
    await h.command('restore 1');
    await h.waitForEphemeral(ALICE.id, /Could not prepare the restore.*rejected the credentials/s);
    expect(h.sim.requests.length).toBeGreaterThan(0);
    expect(h.sim.requests.every((r) => !r.authorized)).toBe(true);
    expect(backupPosts()).toHaveLength(0);
    expect(h.callsOf('chat.postMessage')).toHaveLength(0);
    await h.waitForLog(/rejected the credentials/);
    const secrets = [wrong, basicToken('admin', wrong), MANAGER_PASSWORD];
    for (const line of [...h.logs, ...everythingSaid(h)]) {
      for (const s of secrets) expect(line.includes(s) ? `leaked in: ${line.slice(0, 200)}` : 'ok').toBe('ok');
    }
    expectNothingLeaked(h, secrets);
    await expectHealthy(h.bot.url);
  });

  describe('the backup POST answered ambiguously', () => {
    const processed: Array<[string, ScopedFault]> = [
      ['the connection reset after the manager queued it', { kind: 'reset', method: 'POST', path: BACKUP_POST, afterProcessing: true, times: 1 }],
      ['a 503 after the manager queued it', { kind: 'status', status: 503, method: 'POST', path: BACKUP_POST, afterProcessing: true, times: 1 }],
      ['a 500 HTML page after the manager queued it', { kind: 'html500', method: 'POST', path: BACKUP_POST, afterProcessing: true, times: 1 }],
    ];

    it.each(processed)('%s: exactly one POST; the bot adopts the new backup from the instance view and tracks it', async (_name, fault) => {
      await start();
      await h.sim.setFault(fault);
      await h.command('now');
      const parent = await h.waitFor('chat.postMessage', parentOf);
      const created = h.sim.view('a9s-pg').backups;
      expect(created).toHaveLength(1);
      expect(textOf(parent.args as Args)).toMatch(new RegExp(`task ${created[0]?.id}`));
      const ts = (parent.response as { ts: string }).ts;
      await h.waitFor('chat.postMessage', replyIn(ts, 'queued'));
      await finishesCleanly(ts, created[0]?.id ?? -1);
      expect(backupPosts()).toHaveLength(1);
      expect(h.bot.deps.store.audit.latest().filter((e) => e.action === 'backup.trigger')).toHaveLength(1);
      expectNothingLeaked(h);
      await expectHealthy(h.bot.url);
    });

    const notProcessed: Array<[string, ScopedFault]> = [
      ['a 503 before the manager did anything', { kind: 'status', status: 503, method: 'POST', path: BACKUP_POST, times: 1 }],
      ['the connection reset before the manager did anything', { kind: 'reset', method: 'POST', path: BACKUP_POST, times: 1 }],
    ];

    it.each(notProcessed)('%s: exactly one POST; the bot says it could not confirm and tracks nothing', async (_name, fault) => {
      await start();
      await h.sim.setFault(fault);
      await h.command('now');
      const said = await h.waitForEphemeral(ALICE.id, /did not confirm/);
      expect(said).toMatch(/Nothing was retried/);
      expect(backupPosts()).toHaveLength(1);
      expect(h.sim.view('a9s-pg').backups).toHaveLength(0);
      expect(h.callsOf('chat.postMessage')).toHaveLength(0);
      expect(h.bot.deps.store.tasks.listActive()).toHaveLength(0);
      // The next command works normally: the fault is gone, nothing is stuck.
      await h.command('now');
      await h.waitFor('chat.postMessage', parentOf);
      expect(backupPosts()).toHaveLength(2);
      expectNothingLeaked(h);
      await expectHealthy(h.bot.url);
    });
  });
});
