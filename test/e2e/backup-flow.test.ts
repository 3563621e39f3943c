import { ALERTS, ALICE, Harness, OPS, SIGNING_SECRET, textOf, type Args } from './harness';

/** The parent message of a backup thread is a top-level postMessage in the channel. */
const isParent = (a: Args) => a.channel === OPS.id && a.thread_ts === undefined && /Backup of/.test(textOf(a));
const replyIn = (ts: string, status: string) => (a: Args) => a.thread_ts === ts && new RegExp(`is ${status}|${status.toUpperCase()}`).test(a.text ?? '');

describe('backup flow (/pgbackup now, list, help) end to end', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await Harness.start();
  });
  afterEach(async () => {
    await h.close();
  });

  async function parentTs(): Promise<string> {
    const parent = await h.waitFor('chat.postMessage', isParent);
    return (parent.response as { ts: string }).ts;
  }

  it('triggers one backup, posts the parent, replies queued → running → done in its thread and updates the parent', async () => {
    const { status, ack } = await h.command('now');
    expect(status).toBe(200);
    expect(ack.response_type).toBe('ephemeral');

    const ts = await parentTs();
    const posts = h.managerRequests('POST', '/backup_agent/backup');
    expect(posts).toHaveLength(1);
    expect(posts[0]?.body).toEqual({ instance_guid: 'a9s-pg' });
    const parent = h.callsOf('chat.postMessage', isParent)[0]?.args as Args;
    expect(textOf(parent)).toMatch(/a9s-pg/);
    expect(textOf(parent)).toMatch(/U0ALICE/);
    const created = h.sim.view('a9s-pg').backups.at(-1);
    expect(parent.text).toMatch(new RegExp(`task ${created?.id}`));
    expect(textOf(parent)).toMatch(/queued/);

    await h.waitFor('chat.postMessage', replyIn(ts, 'queued'));
    await h.sim.step();
    await h.waitFor('chat.postMessage', replyIn(ts, 'running'));
    await h.sim.step();
    const done = await h.waitFor('chat.postMessage', replyIn(ts, 'done'));
    expect(textOf(done.args as Args)).toMatch(/a9s-pg-\d+/);
    expect(textOf(done.args as Args)).toMatch(/(B|KiB|MiB|GiB)/);
    await h.waitFor('chat.update', (a) => a.ts === ts && /: done/.test(a.text ?? ''));

    const replies = h.callsOf('chat.postMessage', (a) => a.thread_ts === ts).map((c) => (c.args as Args).text ?? '');
    expect(replies.map((t) => /queued|running|done/.exec(t)?.[0])).toEqual(['queued', 'running', 'done']);
    expect(h.bot.deps.store.tasks.listActive()).toHaveLength(0);
  });

  it('edits the parent before each thread reply, so it never shows an older status than its thread, and gives a running time that can not go stale', async () => {
    await h.command('now');
    const ts = await parentTs();
    await h.waitFor('chat.postMessage', replyIn(ts, 'queued'));
    await h.sim.step();
    await h.waitFor('chat.postMessage', replyIn(ts, 'running'));
    await h.sim.step();
    await h.waitFor('chat.postMessage', replyIn(ts, 'done'));
    await h.waitFor('chat.update', (a) => a.ts === ts && /: done/.test(a.text ?? ''));

    const index = (pred: (a: Args) => boolean) => h.slack.calls.findIndex((c) => pred(c.args as Args));
    for (const status of ['running', 'done']) {
      const edit = index((a) => a.ts === ts && a.thread_ts === undefined && new RegExp(`: ${status}$`).test(a.text ?? ''));
      const reply = index(replyIn(ts, status));
      expect({ status, editFirst: edit >= 0 && edit < reply }).toEqual({ status, editFirst: true });
    }
    const running = h.callsOf('chat.update', (a) => a.ts === ts && /: running$/.test(a.text ?? ''))[0]?.args as Args;
    expect(textOf(running)).toMatch(/running since <!date\^\d+\^\{time_secs\}\|/);
    expect(textOf(running)).not.toMatch(/running for/);
    expect(textOf(h.callsOf('chat.update', (a) => a.ts === ts).at(-1)?.args as Args)).toMatch(/took \d+s/);
  });

  it('a status seen again (running, then a status the bot does not know, then running) is shown again in the parent and the thread', async () => {
    await h.command('now');
    const ts = await parentTs();
    const backupId = h.sim.view('a9s-pg').backups.at(-1)?.id ?? -1;
    await h.sim.step();
    await h.waitFor('chat.postMessage', replyIn(ts, 'running'));
    await h.sim.setFault({ kind: 'unknownStatus', status: 'paused', id: backupId });
    await h.waitFor('chat.update', (a) => a.ts === ts && /: unknown$/.test(a.text ?? ''));
    const afterUnknown = h.slack.calls.length;
    await h.sim.setFault(null);
    await h.slack.waitForCall((c) => h.slack.calls.indexOf(c) >= afterUnknown && c.method === 'chat.update' && (c.args as Args).ts === ts && /: running$/.test((c.args as Args).text ?? ''));
    await h.slack.waitForCall((c) => h.slack.calls.indexOf(c) >= afterUnknown && c.method === 'chat.postMessage' && replyIn(ts, 'running')(c.args as Args));
    await h.sim.step();
    await h.waitFor('chat.update', (a) => a.ts === ts && /: done$/.test(a.text ?? ''));
    const edits = h.callsOf('chat.update', (a) => a.ts === ts).map((c) => /: (\w+)$/.exec((c.args as Args).text ?? '')?.[1]);
    expect(edits).toEqual(['running', 'unknown', 'running', 'done']);
  });

  it('broadcasts a failed backup in its thread and posts it to NOTIFY_CHANNEL', async () => {
    h.sim.failNextBackup('a9s-pg', 'pg_dump: disk full');
    await h.command('now');
    const ts = await parentTs();
    await h.sim.step();
    await h.sim.step();
    const failed = await h.waitFor('chat.postMessage', (a) => a.thread_ts === ts && /FAILED/.test(a.text ?? ''));
    expect((failed.args as Args).reply_broadcast).toBe(true);
    expect(textOf(failed.args as Args)).toMatch(/disk full/);
    const notice = await h.waitFor('chat.postMessage', (a) => a.channel === ALERTS.id && /FAILED/.test(a.text ?? ''));
    expect(textOf(notice.args as Args)).toMatch(/disk full/);
    await h.bot.watch.tickOnce();
    expect(h.callsOf('chat.postMessage', (a) => a.channel === ALERTS.id)).toHaveLength(1);
  });

  it('answers bad input ephemerally with the usage and calls nothing', async () => {
    await h.bot.watch.tickOnce();
    const before = h.sim.requests.length;
    for (const text of ['frobnicate', 'restore', 'restore abc!', 'now a b', 'now <script>']) {
      const { status, ack } = await h.command(text);
      expect(status).toBe(200);
      expect(ack.response_type).toBe('ephemeral');
      expect(textOf(ack)).toMatch(/Usage/);
    }
    // A late effect of the bad commands would show by the time a later, valid one is answered.
    await h.command('list');
    await h.waitForEphemeral(ALICE.id, /(No|Latest) backups of a9s-pg/);
    expect(h.sim.requests.slice(before).map((r) => `${r.method} ${r.path}`)).toEqual(['GET /instances/a9s-pg']);
    expect(h.callsOf('chat.postMessage')).toHaveLength(0);
  });

  it('answers help and an empty command with the usage', async () => {
    for (const text of ['help', '']) {
      const { ack } = await h.command(text);
      expect(ack.response_type).toBe('ephemeral');
      expect(textOf(ack)).toMatch(/\/pgbackup now/);
    }
  });

  it('says an unknown instance is unknown and starts no backup', async () => {
    await h.command('now no-such-db');
    await h.waitForEphemeral(ALICE.id, /No instance `no-such-db`/);
    expect(h.managerRequests('POST')).toHaveLength(0);
  });

  it('says clearly when the Backup Manager is down, and starts nothing', async () => {
    await h.sim.setFault({ kind: 'down' });
    const { status } = await h.command('now');
    expect(status).toBe(200);
    await h.waitForEphemeral(ALICE.id, /unreachable/);
    expect(h.callsOf('chat.postMessage')).toHaveLength(0);
  });

  it('lists the latest backups newest first with a Restore… button on each done one', async () => {
    const old = h.sim.seedBackup('a9s-pg', { status: 'done', createdAt: new Date(Date.now() - 86_400_000) });
    const failed = h.sim.seedBackup('a9s-pg', { status: 'failed', msg: 'boom', createdAt: new Date(Date.now() - 3_600_000) });
    await h.command('list');
    const text = await h.waitForEphemeral(ALICE.id, /Latest backups/);
    expect(text.indexOf(`*${failed}*`)).toBeLessThan(text.indexOf(`*${old}*`));
    expect(text).toMatch(/restore_open/);
    expect(text.match(/restore_open/g)).toHaveLength(1);
  });

  it('refuses requests with a forged, missing or stale signature with 401 and does nothing', async () => {
    await h.bot.watch.tickOnce();
    const before = h.sim.requests.length;
    const body = 'command=%2Fpgbackup&text=now&user_id=U0ALICE&channel_id=C0OPS&response_url=x&trigger_id=t';
    expect((await h.post(body, { secret: 'wrong-secret' })).status).toBe(401);
    expect((await h.post(body, false)).status).toBe(401);
    expect((await h.post(body, { secret: SIGNING_SECRET, timestamp: Math.floor(Date.now() / 1000) - 600 })).status).toBe(401);
    expect(h.sim.requests).toHaveLength(before);
    expect(h.slack.calls.filter((c) => c.method !== 'auth.test')).toHaveLength(0);
  });

  it('resumes tracking after a restart without posting any transition twice', async () => {
    await h.command('now');
    const ts = await parentTs();
    await h.waitFor('chat.postMessage', replyIn(ts, 'queued'));
    await h.bot.stop();
    await h.sim.step();
    await h.startBot();
    await h.waitFor('chat.postMessage', replyIn(ts, 'running'));
    await h.sim.step();
    await h.waitFor('chat.postMessage', replyIn(ts, 'done'));
    const replies = h.callsOf('chat.postMessage', (a) => a.thread_ts === ts).map((c) => /queued|running|done/.exec((c.args as Args).text ?? '')?.[0]);
    expect(replies).toEqual(['queued', 'running', 'done']);
    expect(h.callsOf('chat.postMessage', isParent)).toHaveLength(1);
    expect(h.managerRequests('POST', '/backup_agent/backup')).toHaveLength(1);
  });
});
