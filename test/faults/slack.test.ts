import { DEFAULT_CHANNELS } from '../../src/sandbox/fake-slack';
import { ALICE, ALERTS, Harness, OPS, textOf, type Args, type HarnessOptions } from '../e2e/harness';
import { delivered, expectHealthy, expectNothingLeaked, httpGet, isParent, outboxSettled, replyIn } from './util';

/**
 * Slack misbehaving: rate limits, server errors, a channel the bot was never invited to. No
 * message is lost, none is sent twice, and the person who asked is told what to do.
 */

const parentOf = isParent(OPS.id);

describe('fault: Slack misbehaves', () => {
  let h: Harness;

  async function start(options: HarnessOptions = {}): Promise<Harness> {
    h = await Harness.start(options);
    return h;
  }

  afterEach(async () => {
    await h.close();
  });

  const backupPosts = () => h.managerRequests('POST', '/backup_agent/backup');

  /** The statuses of the delivered replies in thread `ts`, in order. */
  const threadStatuses = (ts: string) =>
    delivered(h, 'chat.postMessage', (a) => a.thread_ts === ts).map((a) => /queued|running|done|FAILED/.exec(a.text ?? '')?.[0]);

  it('429 with Retry-After: the outbox waits it out and delivers every message exactly once, in order', async () => {
    await start({ slack: { rateLimit: { perChannelPerSecond: 1 } } });
    await h.command('now');
    const parent = await h.waitFor('chat.postMessage', (a) => parentOf(a));
    expect(parent.status).toBe(200);
    const ts = (parent.response as { ts: string }).ts;
    // The queued reply follows at once and hits the limit: Slack answers 429 with Retry-After.
    const limited = await h.slack.waitForCall((c) => c.method === 'chat.postMessage' && c.status === 429);
    expect(limited.response.error).toBe('ratelimited');
    await h.waitForLog(/Slack rate limit: waiting Retry-After/);
    const queued = await h.slack.waitForCall((c) => c.status === 200 && c.method === 'chat.postMessage' && replyIn(ts, 'queued')(c.args as Args), 5000);
    // Not before the second Slack asked for.
    expect(queued.at - limited.at).toBeGreaterThanOrEqual(900);

    await h.sim.step();
    await h.sim.step();
    await h.slack.waitForCall((c) => c.status === 200 && c.method === 'chat.postMessage' && replyIn(ts, 'done')(c.args as Args), 8000);
    await h.slack.waitForCall((c) => c.status === 200 && c.method === 'chat.update' && c.args.ts === ts && /: done/.test(String(c.args.text)), 8000);
    await outboxSettled(h);

    expect(h.slack.calls.filter((c) => c.status === 429).length).toBeGreaterThanOrEqual(1);
    expect(delivered(h, 'chat.postMessage', parentOf)).toHaveLength(1);
    // Both transitions observed between polls may collapse into one; none is posted twice.
    const statuses = threadStatuses(ts);
    expect(statuses[0]).toBe('queued');
    expect(statuses.at(-1)).toBe('done');
    expect(new Set(statuses).size).toBe(statuses.length);
    expect(h.bot.deps.store.outbox.pending()).toHaveLength(0);
    expect(backupPosts()).toHaveLength(1);
    expectNothingLeaked(h);
    await expectHealthy(h.bot.url);
  });

  it.each([
    ['HTTP 500', { status: 500 }],
    ['HTTP 503', { status: 503, error: 'service_unavailable' }],
    ['ok:false internal_error', { error: 'internal_error' }],
  ])('%s on chat.postMessage of the parent: retried, delivered once, and the thread goes on', async (_name, fault) => {
    await start();
    h.slack.failNext('chat.postMessage', fault);
    await h.command('now');
    const parent = await h.slack.waitForCall((c) => c.method === 'chat.postMessage' && c.response.ok === true && parentOf(c.args as Args));
    const attempts = h.callsOf('chat.postMessage', parentOf);
    expect(attempts).toHaveLength(2);
    expect(attempts[0]?.response.ok).toBe(false);
    const ts = (parent.response as { ts: string }).ts;
    await h.waitFor('chat.postMessage', replyIn(ts, 'queued'));
    await h.waitForLog(/Slack write failed; retrying/);

    // A failed edit of the parent is retried the same way.
    h.slack.failNext('chat.update', { status: 500 });
    await h.sim.step();
    await h.waitFor('chat.postMessage', replyIn(ts, 'running'));
    await h.sim.step();
    await h.waitFor('chat.postMessage', replyIn(ts, 'done'));
    await h.slack.waitForCall((c) => c.method === 'chat.update' && c.response.ok === true && c.args.ts === ts && /: done/.test(String(c.args.text)));
    await outboxSettled(h);

    expect(delivered(h, 'chat.postMessage', parentOf)).toHaveLength(1);
    expect(threadStatuses(ts)).toEqual(['queued', 'running', 'done']);
    expect(h.bot.deps.store.tasks.listActive()).toHaveLength(0);
    expect(backupPosts()).toHaveLength(1);
    // The person who asked was not bothered: the retry was invisible to them.
    expect(h.ephemerals(ALICE.id).some((t) => /can not post|could not/i.test(t))).toBe(false);
    expectNothingLeaked(h);
    await expectHealthy(h.bot.url);
  });

  it('not_in_channel for the channel of /pgbackup now: the user learns how to invite the bot, the backup is still tracked, and its failure reaches NOTIFY_CHANNEL', async () => {
    await start({ slack: { notInChannel: [OPS.id] } });
    h.sim.failNextBackup('a9s-pg', 'pg_dump: could not write to file: No space left on device');
    const { status } = await h.command('now');
    expect(status).toBe(200);
    const said = await h.waitForEphemeral(ALICE.id, /invite/i);
    expect(said).toMatch(/\/invite @pgbackup/);
    expect(said).toMatch(/not_in_channel/);
    expect(said).toContain(`<#${ALERTS.id}>`);
    // Told through the response_url, which works where the bot is not a member.
    expect(h.slack.responses.some((r) => r.user === ALICE.id && /invite/.test(textOf(r.body as Args)))).toBe(true);

    expect(backupPosts()).toHaveLength(1);
    const backupId = h.sim.view('a9s-pg').backups[0]?.id ?? -1;
    expect(h.bot.deps.store.tasks.find('a9s-pg', backupId)).toMatchObject({ status: 'queued', active: true });
    // The parent was refused once and given up (not retried: retrying can not cure it).
    expect(h.callsOf('chat.postMessage', (a) => a.channel === OPS.id)).toHaveLength(1);

    await h.sim.step();
    await h.sim.step();
    const notice = await h.waitFor('chat.postMessage', (a) => a.channel === ALERTS.id && /FAILED|failed/.test(textOf(a)));
    expect(textOf(notice.args as Args)).toMatch(/No space left on device/);
    expect(textOf(notice.args as Args)).toContain(String(backupId));
    await outboxSettled(h);
    expect(h.bot.deps.store.tasks.find('a9s-pg', backupId)).toMatchObject({ status: 'failed', active: false });
    // The failure watch does not announce it a second time.
    await h.bot.watch.tickOnce();
    expect(h.callsOf('chat.postMessage', (a) => a.channel === ALERTS.id)).toHaveLength(1);
    // Nothing more was tried in the channel the bot is not in.
    expect(h.callsOf('chat.postMessage', (a) => a.channel === OPS.id)).toHaveLength(1);
    expect(backupPosts()).toHaveLength(1);
    expectNothingLeaked(h);
    await expectHealthy(h.bot.url);
  });

  /** Backup parents a person sees in #ops, whatever Slack answered the bot. */
  const parentsShown = () =>
    h.slack
      .snapshot()
      .channels.find((c) => c.id === OPS.id)
      ?.messages.filter((m) => m.thread_ts === undefined && /Backup of/.test(`${m.text}${JSON.stringify(m.blocks ?? [])}`)) ?? [];

  it('HTTP 500 after Slack took the parent: the bot finds it by its metadata and posts exactly one parent', async () => {
    await start();
    h.slack.failNext('chat.postMessage', { status: 500, accept: true });
    await h.command('now');
    await h.waitFor('conversations.history', (a) => a.channel === OPS.id && a.include_all_metadata === true);
    const [parent] = parentsShown();
    expect(parent).toBeDefined();
    // The thread goes on under the parent that landed.
    await h.waitFor('chat.postMessage', replyIn(parent?.ts ?? '', 'queued'));
    await outboxSettled(h);

    expect(parentsShown()).toHaveLength(1);
    expect(h.callsOf('chat.postMessage', parentOf)).toHaveLength(1);
    expect(parent?.metadata).toEqual({ event_type: 'pgbackup_outbox', event_payload: { key: expect.stringMatching(/^task:\d+/) } });
    expect(backupPosts()).toHaveLength(1);
    expectNothingLeaked(h);
  });

  it('restart while the parent post is in flight (Slack took it, the answer never came): one parent, and the thread goes on', async () => {
    await start({ env: { SLACK_TIMEOUT_MS: '500' } });
    h.slack.failNext('chat.postMessage', { accept: true, hang: true });
    await h.command('now');
    await h.slack.waitForCall((c) => c.method === 'chat.postMessage' && c.status === 0 && parentOf(c.args as Args));
    // As kill -9 would leave it: the job is pending and marked in flight in the state file.
    await h.bot.stop({ drainMs: 0 });
    await h.startBot();

    const lookup = await h.waitFor('conversations.history', (a) => a.channel === OPS.id);
    expect(lookup.response.ok).toBe(true);
    const [parent] = parentsShown();
    await h.waitFor('chat.postMessage', replyIn(parent?.ts ?? '', 'queued'));
    await outboxSettled(h);
    expect(parentsShown()).toHaveLength(1);
    expect(h.callsOf('chat.postMessage', parentOf)).toHaveLength(1);
    const task = h.bot.deps.store.tasks.listActive()[0];
    expect(task?.parentTs).toBe(parent?.ts);
    expect(backupPosts()).toHaveLength(1);
  });

  const nine = [...DEFAULT_CHANNELS, ...Array.from({ length: 7 }, (_, i) => ({ id: `C0EXTRA${i}`, name: `extra-${i}`, topic: '', members: ['U0BOT'] }))];

  it('8 channels each with a hung chat.postMessage: a 9th channel still gets its message, and the hung ones are looked up before they are posted again', async () => {
    await start({ env: { SLACK_TIMEOUT_MS: '400' }, slack: { channels: nine } });
    const hung = nine.slice(0, 8).map((c) => c.id);
    for (const channel of hung) h.slack.failNext('chat.postMessage', { hang: true, channel });
    const { outbox } = h.bot.deps;
    for (const channel of hung) outbox.enqueue({ key: `hung:${channel}`, channel, method: 'chat.postMessage', payload: { channel, text: `to ${channel}` } });
    await h.slack.waitForCall(() => h.slack.calls.filter((c) => c.status === 0).length === 8);
    const ninth = nine[8]?.id ?? '';
    const job = outbox.enqueue({ key: 'ninth', channel: ninth, method: 'chat.postMessage', payload: { channel: ninth, text: 'ninth channel' } });

    expect(await outbox.settled(job!.id)).toMatchObject({ state: 'sent' });
    expect(delivered(h, 'chat.postMessage', (a) => a.channel === ninth)).toHaveLength(1);
    await outboxSettled(h);
    for (const channel of hung) {
      const calls = h.slack.calls.filter((c) => c.args.channel === channel).map((c) => `${c.method}:${c.status}`);
      // Timed out, looked up (not there), posted once more.
      expect(calls).toEqual(['chat.postMessage:0', 'conversations.history:200', 'chat.postMessage:200']);
    }
    await h.waitForLog(/"slackError":"timeout".*Slack write failed; retrying/);
  });

  it('/readyz says "slack":"down" while Slack writes time out, and answers in bounded time when auth.test hangs', async () => {
    await start({ env: { SLACK_TIMEOUT_MS: '1500' } });
    h.slack.failNext('chat.postMessage', { hang: true });
    h.slack.failNext('chat.postMessage', { hang: true });
    h.bot.deps.outbox.enqueue({ key: 'r', channel: OPS.id, method: 'chat.postMessage', payload: { channel: OPS.id, text: 'hello' } });
    // The second attempt is hanging now: the first one timed out, and nothing has been answered since.
    await h.slack.waitForCall(() => h.slack.calls.filter((c) => c.method === 'chat.postMessage' && c.status === 0).length === 2);
    const down = await httpGet(`${h.bot.url}/readyz`);
    expect(down.status).toBe(503);
    expect(JSON.parse(down.text)).toMatchObject({ ready: false, slack: 'down' });

    await outboxSettled(h);
    expect((await httpGet(`${h.bot.url}/readyz`)).status).toBe(200);

    h.slack.failNext('auth.test', { hang: true });
    const started = Date.now();
    const probe = await httpGet(`${h.bot.url}/readyz`);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(probe.status).toBe(503);
    expect(JSON.parse(probe.text)).toMatchObject({ slack: 'down' });
  });
});
