import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { webApi } from '@slack/bolt';
import { createFakeSlack, startFakeSlack, type StartedFakeSlack } from './index';

const TOKEN = 'xoxb-test-token';

/** The client logs Slack's error details itself; the assertions below already check them. */
const quietLogger: webApi.Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  setLevel: () => undefined,
  getLevel: () => webApi.LogLevel.ERROR,
  setName: () => undefined,
};

function client(fake: { apiUrl: string }, token = TOKEN, extra: Partial<webApi.WebClientOptions> = {}): webApi.WebClient {
  return new webApi.WebClient(token, {
    slackApiUrl: fake.apiUrl,
    retryConfig: { retries: 0 },
    logger: quietLogger,
    ...extra,
  });
}

const header = (text: string) => ({ type: 'header', text: { type: 'plain_text', text } });
const approveActions = {
  type: 'actions',
  block_id: 'restore:42',
  elements: [
    { type: 'button', action_id: 'approve', text: { type: 'plain_text', text: 'Approve' }, style: 'primary', value: '42' },
  ],
};

describe('fake Slack Web API', () => {
  let fake: StartedFakeSlack;
  const clock = 1_732_590_000_000;

  beforeEach(async () => {
    fake = await startFakeSlack({ botToken: TOKEN, notInChannel: ['C0ALERTS'], now: () => clock });
  });
  afterEach(() => fake.close());

  it('answers auth.test with the bot identity', async () => {
    const res = await client(fake).auth.test();
    expect(res).toMatchObject({ ok: true, user: 'pgbackup', team_id: 'T0001', user_id: 'U0BOT', bot_id: 'B0BOT' });
    expect(fake.apiUrl).toBe(`${fake.url}api/`);
    expect(fake.apiUrl.endsWith('/')).toBe(true);
  });

  it('records chat.postMessage with blocks parsed back to objects and returns increasing ts', async () => {
    const web = client(fake);
    const first = await web.chat.postMessage({ channel: 'C0OPS', text: 'Backup queued', blocks: [header('Backup'), approveActions] });
    const second = await web.chat.postMessage({ channel: 'C0OPS', text: 'again' });

    expect(first).toMatchObject({ ok: true, channel: 'C0OPS', message: { text: 'Backup queued', user: 'U0BOT', bot_id: 'B0BOT' } });
    expect(first.ts).toBe('1732590000.000000');
    expect(second.ts).toBe('1732590000.000100');
    expect(fake.calls[0]).toMatchObject({
      method: 'chat.postMessage',
      status: 200,
      args: { channel: 'C0OPS', text: 'Backup queued', blocks: [header('Backup'), approveActions] },
      response: { ok: true, ts: first.ts },
    });
    expect(fake.calls[0]?.args).not.toHaveProperty('token');
    const ops = fake.snapshot().channels.find((c) => c.id === 'C0OPS');
    expect(ops?.messages.map((m) => m.text)).toEqual(['Backup queued', 'again']);
    // Slack fills in the block_id the app left out; clicks report it.
    expect(ops?.messages[0]?.blocks?.[0]?.block_id).toEqual(expect.any(String));
    expect(ops?.messages[0]?.blocks?.[1]?.block_id).toBe('restore:42');
  });

  it('threads replies and keeps reply_broadcast as a boolean', async () => {
    const web = client(fake);
    const parent = await web.chat.postMessage({ channel: 'C0OPS', text: 'parent' });
    await web.chat.postMessage({ channel: 'C0OPS', text: 'failed', thread_ts: parent.ts ?? '', reply_broadcast: true });

    expect(fake.calls[1]?.args).toMatchObject({ thread_ts: parent.ts, reply_broadcast: true });
    const reply = fake.snapshot().channels[0]?.messages[1];
    expect(reply).toMatchObject({ thread_ts: parent.ts, reply_broadcast: true, text: 'failed' });
    await expect(web.chat.postMessage({ channel: 'C0OPS', text: 'x', thread_ts: '1.000000' })).rejects.toMatchObject({
      code: webApi.ErrorCode.PlatformError,
      data: { error: 'thread_not_found' },
    });
  });

  it('updates a message in place, marks it edited, and refuses an unknown ts', async () => {
    const web = client(fake);
    const posted = await web.chat.postMessage({ channel: 'C0OPS', text: 'queued', blocks: [header('queued')] });
    const updated = await web.chat.update({ channel: 'C0OPS', ts: posted.ts ?? '', text: 'running', blocks: [header('running')] });

    expect(updated).toMatchObject({ ok: true, channel: 'C0OPS', ts: posted.ts, text: 'running' });
    expect(fake.calls[1]).toMatchObject({ method: 'chat.update', args: { ts: posted.ts, blocks: [header('running')] } });
    const message = fake.snapshot().channels[0]?.messages[0];
    expect(message).toMatchObject({ text: 'running', edited: { user: 'U0BOT' } });
    expect(message?.blocks?.[0]).toMatchObject(header('running'));
    await expect(web.chat.update({ channel: 'C0OPS', ts: '1.000000', text: 'nope' })).rejects.toMatchObject({
      data: { error: 'message_not_found' },
    });
  });

  it('gives a permalink to a posted message, and refuses an unknown one', async () => {
    const web = client(fake);
    const posted = await web.chat.postMessage({ channel: 'C0OPS', text: 'card' });
    const link = await web.chat.getPermalink({ channel: 'C0OPS', message_ts: posted.ts ?? '' });
    expect(link).toMatchObject({ ok: true, channel: 'C0OPS', permalink: `https://example.slack.com/archives/C0OPS/p${(posted.ts ?? '').replace('.', '')}` });
    await expect(web.chat.getPermalink({ channel: 'C0OPS', message_ts: '1.000000' })).rejects.toMatchObject({ data: { error: 'message_not_found' } });
  });

  it('records chat.postEphemeral and shows it to that user only', async () => {
    const res = await client(fake).chat.postEphemeral({ channel: 'C0OPS', user: 'U0ALICE', text: 'only you', blocks: [header('h')] });

    expect(res).toEqual(expect.objectContaining({ ok: true, message_ts: expect.any(String) }));
    expect(fake.calls[0]).toMatchObject({ method: 'chat.postEphemeral', args: { user: 'U0ALICE', blocks: [header('h')] } });
    const { ephemerals } = fake.snapshot();
    expect(ephemerals.U0ALICE).toEqual([expect.objectContaining({ channel: 'C0OPS', text: 'only you', ts: res.message_ts })]);
    expect(ephemerals.U0BOB).toBeUndefined();
  });

  it('waitForCall resolves with a call made before or after it was asked for', async () => {
    const web = client(fake);
    await web.chat.postMessage({ channel: 'C0OPS', text: 'early' });
    const early = await fake.waitForCall((c) => c.args.text === 'early');
    expect(early.method).toBe('chat.postMessage');

    const later = fake.waitForCall((c) => c.method === 'chat.postEphemeral');
    await web.chat.postEphemeral({ channel: 'C0OPS', user: 'U0BOB', text: 'late' });
    await expect(later).resolves.toMatchObject({ args: { user: 'U0BOB', text: 'late' } });

    await expect(fake.waitForCall((c) => c.method === 'chat.delete', 20)).rejects.toThrow(/chat\.postMessage\(C0OPS\)/);
  });

  it('answers not_in_channel where the bot was not invited', async () => {
    const web = client(fake);
    await expect(web.chat.postMessage({ channel: 'C0ALERTS', text: 'x' })).rejects.toMatchObject({
      data: { error: 'not_in_channel' },
    });
    const info = await web.conversations.info({ channel: 'C0ALERTS' });
    expect(info.channel).toMatchObject({ id: 'C0ALERTS', name: 'backup-alerts', is_member: false });
    await expect(web.chat.postMessage({ channel: 'C0NOPE', text: 'x' })).rejects.toMatchObject({
      data: { error: 'channel_not_found' },
    });
  });

  it('refuses a wrong or missing token when a bot token is configured', async () => {
    await expect(client(fake, 'xoxb-wrong').auth.test()).rejects.toMatchObject({ data: { error: 'invalid_auth' } });
    const res = await fetch(`${fake.apiUrl}auth.test`, { method: 'POST' });
    expect(await res.json()).toEqual({ ok: false, error: 'not_authed' });
    expect(fake.calls.map((c) => c.response.error)).toEqual(['invalid_auth', 'not_authed']);
  });

  it('accepts a JSON body with a bearer token', async () => {
    const res = await fetch(`${fake.apiUrl}chat.postMessage`, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ channel: '#ops', text: 'json', blocks: [header('j')], reply_broadcast: false }),
    });
    expect(await res.json()).toMatchObject({ ok: true, channel: 'C0OPS' });
    expect(fake.calls[0]?.args).toEqual({ channel: '#ops', text: 'json', blocks: [header('j')], reply_broadcast: false });
  });

  it('answers users.info minimally and unknown methods with unknown_method', async () => {
    const web = client(fake);
    const info = await web.users.info({ user: 'U0BOB' });
    expect(info.user).toMatchObject({ id: 'U0BOB', name: 'bob', is_bot: false });
    await expect(web.apiCall('files.upload.nope')).rejects.toMatchObject({ data: { error: 'unknown_method' } });
  });

  it('refuses blocks that break Block Kit limits with invalid_blocks', async () => {
    await expect(
      client(fake).chat.postMessage({ channel: 'C0OPS', text: 'x', blocks: [header('h'.repeat(151))] }),
    ).rejects.toMatchObject({ data: { error: 'invalid_blocks', response_metadata: { messages: [expect.stringContaining('/blocks/0/text/text')] } } });
    await expect(client(fake).chat.postMessage({ channel: 'C0OPS', text: '' })).rejects.toMatchObject({
      data: { error: 'no_text' },
    });
  });

  it('injects one-shot faults with failNext', async () => {
    const web = client(fake);
    fake.failNext('chat.postMessage', { status: 500 });
    fake.failNext('chat.postMessage', { error: 'channel_not_found' });

    await expect(web.chat.postMessage({ channel: 'C0OPS', text: 'a' })).rejects.toMatchObject({
      code: webApi.ErrorCode.HTTPError,
      statusCode: 500,
    });
    await expect(web.chat.postMessage({ channel: 'C0OPS', text: 'b' })).rejects.toMatchObject({
      data: { error: 'channel_not_found' },
    });
    await expect(web.chat.postMessage({ channel: 'C0OPS', text: 'c' })).resolves.toMatchObject({ ok: true });
    expect(fake.calls.map((c) => c.status)).toEqual([500, 200, 200]);
  });

  it('reset forgets messages, calls and queued faults', async () => {
    const web = client(fake);
    await web.chat.postMessage({ channel: 'C0OPS', text: 'a' });
    fake.failNext('chat.postMessage', { error: 'fatal_error' });
    fake.reset();
    expect(fake.calls).toHaveLength(0);
    await expect(web.chat.postMessage({ channel: 'C0OPS', text: 'b' })).resolves.toMatchObject({ ok: true });
    expect(fake.snapshot().channels[0]?.messages.map((m) => m.text)).toEqual(['b']);
  });
});

describe('fake Slack rate limit', () => {
  let fake: StartedFakeSlack;
  let clock = 1_732_590_000_000;

  beforeEach(async () => {
    fake = await startFakeSlack({ rateLimit: { perChannelPerSecond: 1 }, now: () => clock });
  });
  afterEach(() => fake.close());

  it('answers 429 with Retry-After beyond one message per second in a channel', async () => {
    const web = client(fake, TOKEN, { rejectRateLimitedCalls: true });
    const posted = await web.chat.postMessage({ channel: 'C0OPS', text: 'first' });

    await expect(web.chat.update({ channel: 'C0OPS', ts: posted.ts ?? '', text: 'too soon' })).rejects.toMatchObject({
      code: webApi.ErrorCode.RateLimitedError,
      retryAfter: 1,
    });
    const raw = await fetch(`${fake.apiUrl}chat.postMessage`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'channel=C0OPS&text=raw',
    });
    expect(raw.status).toBe(429);
    expect(raw.headers.get('retry-after')).toBe('1');
    expect(await raw.json()).toEqual({ ok: false, error: 'ratelimited' });

    // Another channel has its own budget; the first one recovers after a second.
    await expect(web.chat.postMessage({ channel: 'C0ALERTS', text: 'elsewhere' })).resolves.toMatchObject({ ok: true });
    clock += 1000;
    await expect(web.chat.postMessage({ channel: 'C0OPS', text: 'later' })).resolves.toMatchObject({ ok: true });
    expect(fake.calls.map((c) => c.status)).toEqual([200, 429, 429, 200, 200]);
  });
});

describe('fake Slack response_url', () => {
  let fake: StartedFakeSlack;

  beforeEach(async () => {
    fake = await startFakeSlack();
  });
  afterEach(() => fake.close());

  const post = (url: string, body: unknown) =>
    fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  it('records a response and shows it as an ephemeral to that user', async () => {
    const url = fake.responseUrlFor({ user: 'U0ALICE', channel: 'C0OPS' });
    expect(url.startsWith(`${fake.url}response/`)).toBe(true);

    const res = await post(url, { response_type: 'ephemeral', text: 'Usage: /pgbackup now', blocks: [header('Usage')] });
    expect(res.status).toBe(200);
    const recorded = await fake.waitForResponse((r) => r.user === 'U0ALICE');
    expect(recorded).toMatchObject({ channel: 'C0OPS', body: { text: 'Usage: /pgbackup now' } });
    expect(fake.snapshot().ephemerals.U0ALICE).toEqual([
      expect.objectContaining({ text: 'Usage: /pgbackup now', source: 'response_url' }),
    ]);
  });

  it('posts in the channel for in_channel and replaces or deletes the clicked message', async () => {
    const command = fake.responseUrlFor({ user: 'U0BOB', channel: 'C0OPS' });
    await post(command, { response_type: 'in_channel', text: 'visible' });
    const message = fake.snapshot().channels[0]?.messages[0];
    expect(message).toMatchObject({ text: 'visible', user: 'U0BOT' });

    const click = fake.responseUrlFor({ user: 'U0BOB', channel: 'C0OPS', messageTs: message?.ts ?? '' });
    await post(click, { replace_original: true, text: 'replaced' });
    expect(fake.snapshot().channels[0]?.messages[0]).toMatchObject({ text: 'replaced' });
    await post(click, { delete_original: true });
    expect(fake.snapshot().channels[0]?.messages).toEqual([]);
  });

  it('replaces an ephemeral in place and refuses a sixth use', async () => {
    const web = client(fake);
    const eph = await web.chat.postEphemeral({ channel: 'C0OPS', user: 'U0CAROL', text: 'list' });
    const url = fake.responseUrlFor({ user: 'U0CAROL', channel: 'C0OPS', messageTs: eph.message_ts ?? '', isEphemeral: true });
    for (let i = 1; i <= 5; i++) {
      const res = await post(url, { replace_original: true, text: `v${i}` });
      expect(res.status).toBe(200);
    }
    expect(fake.snapshot().ephemerals.U0CAROL).toEqual([expect.objectContaining({ ts: eph.message_ts, text: 'v5' })]);
    const sixth = await post(url, { replace_original: true, text: 'v6' });
    expect(sixth.status).toBe(404);
    expect(await sixth.json()).toEqual({ ok: false, error: 'used_url' });
    expect(fake.responses).toHaveLength(6);
  });

  it('answers 404 for an unknown response_url', async () => {
    const res = await post(`${fake.url}response/deadbeef`, { text: 'x' });
    expect(res.status).toBe(404);
    expect(fake.responses).toHaveLength(0);
  });
});

describe('createFakeSlack mounted on another server', () => {
  it('serves its own paths and leaves the rest to the host server', async () => {
    const fake = createFakeSlack();
    const server = createServer((req, res) => {
      if (fake.handle(req, res)) return;
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('host');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      fake.setUrl(`http://127.0.0.1:${port}`);
      expect(fake.apiUrl).toBe(`http://127.0.0.1:${port}/api/`);
      await expect(client(fake).auth.test()).resolves.toMatchObject({ ok: true });
      expect(await (await fetch(`http://127.0.0.1:${port}/healthz`)).text()).toBe('host');
    } finally {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    }
  });
});

describe('fake Slack in Socket Mode (apps.connections.open)', () => {
  const WSS = 'ws://127.0.0.1:1/link/?ticket=t1';
  const APP_TOKEN = 'xapp-1-A0APP-test';
  let fake: StartedFakeSlack | undefined;
  afterEach(async () => {
    await fake?.close();
    fake = undefined;
  });

  it('hands out the WebSocket URL for the app-level token and records the call without the token', async () => {
    fake = await startFakeSlack({ botToken: TOKEN, socketModeUrl: WSS, appToken: APP_TOKEN });
    await expect(client(fake, APP_TOKEN).apps.connections.open({})).resolves.toMatchObject({ ok: true, url: WSS });
    expect(fake.calls).toEqual([expect.objectContaining({ method: 'apps.connections.open', status: 200, args: {}, response: { ok: true, url: WSS } })]);
    // The bot token still works for everything else.
    await expect(client(fake).auth.test()).resolves.toMatchObject({ ok: true });
  });

  it('refuses a bot token, another app token and no token, as Slack does', async () => {
    fake = await startFakeSlack({ botToken: TOKEN, socketModeUrl: WSS, appToken: APP_TOKEN });
    await expect(client(fake).apps.connections.open({})).rejects.toMatchObject({ data: { ok: false, error: 'not_allowed_token_type' } });
    await expect(client(fake, 'xapp-1-other').apps.connections.open({})).rejects.toMatchObject({ data: { ok: false, error: 'invalid_auth' } });
    await expect(client(fake, '').apps.connections.open({})).rejects.toMatchObject({ data: { ok: false, error: 'not_authed' } });
    // An app token is no bot token.
    await expect(client(fake, APP_TOKEN).auth.test()).rejects.toMatchObject({ data: { ok: false, error: 'invalid_auth' } });
  });

  it('accepts any app-level token without appToken, and queued faults still apply', async () => {
    fake = await startFakeSlack({ socketModeUrl: WSS });
    fake.failNext('apps.connections.open', { error: 'internal_error' });
    await expect(client(fake, 'xapp-any').apps.connections.open({})).rejects.toMatchObject({ data: { error: 'internal_error' } });
    await expect(client(fake, 'xapp-any').apps.connections.open({})).resolves.toMatchObject({ ok: true, url: WSS });
  });

  it('does not know the method without socketModeUrl (unchanged behaviour)', async () => {
    fake = await startFakeSlack();
    await expect(client(fake, APP_TOKEN).apps.connections.open({})).rejects.toMatchObject({ data: { ok: false, error: 'unknown_method' } });
  });
});

describe('fake Slack: metadata, history and ambiguous answers', () => {
  let fake: StartedFakeSlack;
  afterEach(() => fake.close());

  const meta = (key: string) => ({ event_type: 'pgbackup_outbox', event_payload: { key } });

  it('stores message metadata and serves it from conversations.history and .replies only with include_all_metadata', async () => {
    fake = await startFakeSlack({ botToken: TOKEN });
    const web = client(fake);
    const parent = await web.chat.postMessage({ channel: 'C0OPS', text: 'parent', metadata: meta('p') });
    await web.chat.postMessage({ channel: 'C0OPS', text: 'reply', thread_ts: parent.ts, metadata: meta('r') });
    await web.chat.postMessage({ channel: 'C0OPS', text: 'later' });

    const history = await web.conversations.history({ channel: 'C0OPS', include_all_metadata: true });
    // Newest first; the thread reply is not a channel message.
    expect(history.messages?.map((m) => [m.text, m.metadata?.event_payload])).toEqual([
      ['later', undefined],
      ['parent', { key: 'p' }],
    ]);
    const bare = await web.conversations.history({ channel: 'C0OPS' });
    expect(bare.messages?.some((m) => m.metadata !== undefined)).toBe(false);

    const replies = await web.conversations.replies({ channel: 'C0OPS', ts: parent.ts as string, include_all_metadata: true });
    expect(replies.messages?.map((m) => [m.text, m.metadata?.event_type, m.metadata?.event_payload])).toEqual([
      ['parent', 'pgbackup_outbox', { key: 'p' }],
      ['reply', 'pgbackup_outbox', { key: 'r' }],
    ]);
    await expect(web.chat.postMessage({ channel: 'C0OPS', text: 'x', metadata: { event_type: '' } as never })).rejects.toMatchObject({
      data: { error: 'invalid_metadata_format' },
    });
  });

  it('pages history with limit and cursor, and honours oldest', async () => {
    let t = 1_700_000_000_000;
    fake = await startFakeSlack({ botToken: TOKEN, now: () => (t += 1000) });
    const web = client(fake);
    const ts: string[] = [];
    for (let i = 0; i < 5; i++) ts.push((await web.chat.postMessage({ channel: 'C0OPS', text: `m${i}` })).ts as string);
    const first = await web.conversations.history({ channel: 'C0OPS', limit: 2, oldest: ts[0] });
    expect(first.messages?.map((m) => m.text)).toEqual(['m4', 'm3']);
    expect(first.has_more).toBe(true);
    const second = await web.conversations.history({ channel: 'C0OPS', limit: 2, oldest: ts[0], cursor: first.response_metadata?.next_cursor });
    expect(second.messages?.map((m) => m.text)).toEqual(['m2', 'm1']);
    expect(second.has_more).toBe(false);
  });

  it('can accept a post and still answer 500, answer late, hang, and aim a fault at one channel', async () => {
    fake = await startFakeSlack({ botToken: TOKEN });
    const web = client(fake);
    fake.failNext('chat.postMessage', { status: 500, accept: true });
    await expect(web.chat.postMessage({ channel: 'C0OPS', text: 'landed' })).rejects.toMatchObject({ code: 'slack_webapi_http_error', statusCode: 500 });
    expect(fake.snapshot().channels.find((c) => c.id === 'C0OPS')?.messages.map((m) => m.text)).toEqual(['landed']);

    fake.failNext('chat.postMessage', { hang: true, channel: 'C0ALERTS' });
    // The fault waits for its channel: a post elsewhere passes.
    await expect(web.chat.postMessage({ channel: 'C0OPS', text: 'other' })).resolves.toMatchObject({ ok: true });
    const hung = client(fake, TOKEN, { timeout: 200 }).chat.postMessage({ channel: 'C0ALERTS', text: 'never answered' });
    await expect(hung).rejects.toMatchObject({ code: 'slack_webapi_request_error' });
    expect(fake.calls.at(-1)).toMatchObject({ method: 'chat.postMessage', status: 0 });

    fake.failNext('auth.test', { delayMs: 150, status: 503 });
    const started = Date.now();
    await expect(web.auth.test()).rejects.toMatchObject({ statusCode: 503 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });
});
