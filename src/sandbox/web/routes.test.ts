import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, get, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { createFakeSlack, type FakeSlack } from '../fake-slack';
import { readBody } from '../http-util';
import { createSandboxRoutes, type SandboxRoutes } from './routes';

const SECRET = 'test-signing-secret';

interface Delivery {
  body: string;
  form: URLSearchParams;
}

type Reply = (delivery: Delivery) => Promise<{ status: number; contentType?: string; body?: string }>;

/** Recomputed here rather than imported, so a mistake in the sandbox's signer cannot hide itself. */
function signatureValid(req: IncomingMessage, body: string): boolean {
  const timestamp = String(req.headers['x-slack-request-timestamp'] ?? '');
  const given = Buffer.from(String(req.headers['x-slack-signature'] ?? ''));
  const expected = Buffer.from(`v0=${createHmac('sha256', SECRET).update(`v0:${timestamp}:${body}`).digest('hex')}`);
  const fresh = Math.abs(Date.now() / 1000 - Number(timestamp)) < 300;
  return fresh && given.length === expected.length && timingSafeEqual(given, expected);
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

async function shut(server: Server): Promise<void> {
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** A stand-in for the bot: checks the signature like Bolt does and answers as the test says. */
function fakeBot(deliveries: Delivery[], reply: () => Reply): Server {
  return createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      if (req.url !== '/slack/events' || !signatureValid(req, body) || req.headers['content-type'] !== 'application/x-www-form-urlencoded') {
        res.writeHead(401).end();
        return;
      }
      const delivery = { body, form: new URLSearchParams(body) };
      deliveries.push(delivery);
      const answer = await reply()(delivery);
      res.writeHead(answer.status, answer.contentType === undefined ? {} : { 'content-type': answer.contentType });
      res.end(answer.body ?? '');
    })();
  });
}

const Payload = z.object({
  type: z.literal('block_actions'),
  user: z.object({ id: z.string(), name: z.string() }),
  container: z.object({ message_ts: z.string(), channel_id: z.string(), is_ephemeral: z.boolean() }),
  channel: z.object({ id: z.string(), name: z.string() }),
  message: z.object({ ts: z.string(), text: z.string(), blocks: z.array(z.unknown()) }).optional(),
  response_url: z.string(),
  actions: z.array(z.object({ action_id: z.string(), block_id: z.string(), value: z.string().optional(), style: z.string().optional(), text: z.object({ text: z.string() }) })),
});

const card = [
  { type: 'section', text: { type: 'mrkdwn', text: '*Restore* of backup 148 requested' } },
  {
    type: 'actions',
    block_id: 'restore:7',
    elements: [
      { type: 'button', action_id: 'restore_approve', style: 'primary', value: '7', text: { type: 'plain_text', text: 'Approve' } },
      { type: 'button', action_id: 'restore_reject', style: 'danger', value: '7', text: { type: 'plain_text', text: 'Reject' } },
    ],
  },
];

describe('sandbox routes', () => {
  let fake: FakeSlack;
  let routes: SandboxRoutes;
  let host: Server;
  let bot: Server;
  let base: string;
  let deliveries: Delivery[];
  let reply: Reply;

  beforeEach(async () => {
    deliveries = [];
    reply = async () => ({ status: 200 });
    bot = fakeBot(deliveries, () => reply);
    const botUrl = await listen(bot);
    fake = createFakeSlack();
    routes = createSandboxRoutes({ fakeSlack: fake, signingSecret: SECRET, eventsUrl: `${botUrl}slack/events` });
    // Mounted together on one server, as the sandbox mounts them on the bot's own server.
    host = createServer((req, res) => {
      if (fake.handle(req, res) || routes.handle(req, res)) return;
      res.writeHead(404).end();
    });
    base = await listen(host);
    fake.setUrl(base);
  });

  afterEach(async () => {
    routes.close();
    await Promise.all([shut(host), shut(bot)]);
  });

  const postJson = (path: string, body: unknown) =>
    fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  const postToSlack = (text: string, blocks?: unknown[]) =>
    fetch(`${fake.apiUrl}chat.postMessage`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ channel: 'C0OPS', text, blocks }),
    }).then(async (r) => z.object({ ts: z.string() }).parse(await r.json()));

  it('delivers /pgbackup as a signed slash-command form shaped like Slack sends it', async () => {
    const res = await postJson('sandbox/command', { user: 'U0ALICE', channel: 'C0OPS', text: '/pgbackup now a9s-pg' });
    expect(res.status).toBe(200);
    expect(deliveries).toHaveLength(1);
    const form = deliveries[0]?.form ?? new URLSearchParams();
    expect([...form.keys()]).toEqual([
      'token', 'team_id', 'team_domain', 'enterprise_id', 'enterprise_name', 'channel_id', 'channel_name',
      'user_id', 'user_name', 'command', 'text', 'api_app_id', 'is_enterprise_install', 'response_url', 'trigger_id',
    ]);
    expect(Object.fromEntries(form)).toMatchObject({
      team_id: 'T0001',
      channel_id: 'C0OPS',
      channel_name: 'ops',
      user_id: 'U0ALICE',
      user_name: 'alice',
      command: '/pgbackup',
      text: 'now a9s-pg',
      trigger_id: expect.stringMatching(/\S/),
      response_url: expect.stringMatching(new RegExp(`^${base}response/[0-9a-f]+$`)),
    });
    expect(deliveries[0]?.body).toContain('command=%2Fpgbackup&text=now+a9s-pg');
  });

  it('shows an ephemeral ack and a later response_url message to the invoker only', async () => {
    reply = async ({ form }) => {
      // Like a bot that acks at once and answers later through the response_url.
      setImmediate(() => {
        void fetch(form.get('response_url') ?? '', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ response_type: 'ephemeral', text: 'Backups of a9s-pg: …' }),
        });
      });
      return { status: 200, contentType: 'application/json', body: JSON.stringify({ response_type: 'ephemeral', text: 'Looking…' }) };
    };
    const res = await postJson('sandbox/command', { user: 'bob', channel: 'ops', text: 'list' });
    expect(await res.json()).toMatchObject({ ok: true, botStatus: 200, ack: { text: 'Looking…' } });
    await fake.waitForResponse((r) => r.user === 'U0BOB');
    const { ephemerals } = fake.snapshot();
    expect(ephemerals.U0BOB?.map((e) => [e.text, e.source])).toEqual([
      ['Looking…', 'ack'],
      ['Backups of a9s-pg: …', 'response_url'],
    ]);
    expect(ephemerals.U0ALICE).toBeUndefined();
  });

  it("tells the invoker when the bot fails, in Slack's words", async () => {
    reply = async () => ({ status: 500 });
    const res = await postJson('sandbox/command', { user: 'U0EVE', channel: 'C0OPS', text: 'now' });
    expect(res.status).toBe(502);
    expect(fake.snapshot().ephemerals.U0EVE).toEqual([
      expect.objectContaining({ from: 'USLACKBOT', text: '/pgbackup failed with the error "dispatch_failed"' }),
    ]);
  });

  it('delivers a button click as a signed block_actions payload carrying the message', async () => {
    const { ts } = await postToSlack('Restore of a9s-pg requested', card);
    const res = await postJson('sandbox/action', {
      user: 'U0BOB',
      channel: 'C0OPS',
      messageTs: ts,
      actionId: 'restore_approve',
      blockId: 'restore:7',
    });
    expect(await res.json()).toMatchObject({ ok: true });
    const form = deliveries[0]?.form ?? new URLSearchParams();
    expect([...form.keys()]).toEqual(['payload']);
    const payload = Payload.parse(JSON.parse(form.get('payload') ?? ''));
    expect(payload).toMatchObject({
      user: { id: 'U0BOB', name: 'bob' },
      container: { message_ts: ts, channel_id: 'C0OPS', is_ephemeral: false },
      channel: { id: 'C0OPS', name: 'ops' },
      message: { ts, text: 'Restore of a9s-pg requested' },
      actions: [{ action_id: 'restore_approve', block_id: 'restore:7', value: '7', style: 'primary', text: { text: 'Approve' } }],
    });
    expect(payload.message?.blocks[1]).toEqual(card[1]);
    expect(payload.response_url.startsWith(`${base}response/`)).toBe(true);

    // The response_url of a click replaces the clicked message when asked to.
    await fetch(payload.response_url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ replace_original: true, text: 'Approved by bob' }),
    });
    expect(fake.snapshot().channels[0]?.messages[0]).toMatchObject({ ts, text: 'Approved by bob' });
  });

  it('clicks on an ephemeral send no message, as Slack does, and unknown buttons are refused', async () => {
    const eph = fake.workspace.postEphemeral({ channel: 'C0OPS', user: 'U0ALICE', from: 'U0BOT', text: 'list', blocks: card, source: 'chat.postEphemeral' });
    await postJson('sandbox/action', { user: 'alice', channel: 'C0OPS', messageTs: eph.ts, actionId: 'restore_reject' });
    const payload = Payload.parse(JSON.parse(deliveries[0]?.form.get('payload') ?? ''));
    expect(payload.container).toMatchObject({ message_ts: eph.ts, is_ephemeral: true });
    expect(payload.message).toBeUndefined();
    expect(payload.actions[0]).toMatchObject({ action_id: 'restore_reject', block_id: 'restore:7', style: 'danger' });

    const missing = await postJson('sandbox/action', { user: 'alice', channel: 'C0OPS', messageTs: eph.ts, actionId: 'nope' });
    expect(missing.status).toBe(404);
    // Another user cannot click alice's ephemeral: it is not theirs to see.
    const foreign = await postJson('sandbox/action', { user: 'bob', channel: 'C0OPS', messageTs: eph.ts, actionId: 'restore_reject' });
    expect(foreign.status).toBe(404);
    expect(deliveries).toHaveLength(1);
  });

  it('refuses bodies that are not JSON and unknown users', async () => {
    const form = await fetch(`${base}sandbox/command`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'user=U0ALICE&channel=C0OPS&text=now',
    });
    expect(form.status).toBe(415);
    expect((await postJson('sandbox/command', { user: 'U0MALLORY', channel: 'C0OPS', text: 'now' })).status).toBe(400);
    expect((await postJson('sandbox/command', { user: 'U0ALICE' })).status).toBe(400);
    expect(deliveries).toHaveLength(0);
  });

  it('serves the page, its assets and the state', async () => {
    const page = await fetch(base);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await page.text()).toContain('/sandbox/app.js');
    const js = await fetch(`${base}sandbox/app.js`);
    expect(js.headers.get('content-type')).toMatch(/^text\/javascript/);
    const css = await fetch(`${base}sandbox/app.css`);
    expect(css.status).toBe(200);
    await postToSlack('hello');
    const state = await (await fetch(`${base}sandbox/state`)).json();
    expect(state).toMatchObject({ team: { id: 'T0001' }, channels: [{ id: 'C0OPS', messages: [{ text: 'hello' }] }, { id: 'C0ALERTS' }] });
    expect((await fetch(`${base}nowhere`)).status).toBe(404);
  });

  it('posts text without a leading / as an ordinary message of that person, escaped as Slack stores it, and never to the bot', async () => {
    const res = await postJson('sandbox/message', { user: 'U0BOB', channel: 'C0OPS', text: 'now <!channel> & restore 149' });
    expect(res.status).toBe(200);
    // A command sent afterwards is the later event: when it has arrived, the message would have too.
    expect((await postJson('sandbox/command', { user: 'U0BOB', channel: 'C0OPS', text: '/pgbackup help' })).status).toBe(200);
    expect(deliveries.map((d) => d.form.get('text'))).toEqual(['help']);
    const ops = fake.snapshot().channels.find((c) => c.id === 'C0OPS');
    expect(ops?.messages).toEqual([expect.objectContaining({ user: 'U0BOB', text: 'now &lt;!channel&gt; &amp; restore 149' })]);
    expect(ops?.messages[0]).not.toHaveProperty('bot_id');
    expect((await postJson('sandbox/message', { user: 'U0MALLORY', channel: 'C0OPS', text: 'hi' })).status).toBe(400);
    expect((await postJson('sandbox/message', { user: 'U0BOB', channel: 'C0OPS', text: '' })).status).toBe(400);
  });

  it('serves the examples the sandbox offers, asked for anew on every request', async () => {
    expect(await (await fetch(`${base}sandbox/examples`)).json()).toEqual({ examples: [] });
    routes.close();
    let calls = 0;
    routes = createSandboxRoutes({ fakeSlack: fake, signingSecret: SECRET, eventsUrl: 'http://127.0.0.1:9/slack/events', examples: () => [`/pgbackup restore ${++calls}`] });
    expect(await (await fetch(`${base}sandbox/examples`)).json()).toEqual({ examples: ['/pgbackup restore 1'] });
    expect(await (await fetch(`${base}sandbox/examples`)).json()).toEqual({ examples: ['/pgbackup restore 2'] });
    expect((await postJson('sandbox/examples', {})).status).toBe(405);
  });

  it('streams a snapshot, then each new message, over server-sent events', async () => {
    const events = await openEventStream(`${base}sandbox/events`);
    try {
      expect(await events.next('snapshot')).toMatchObject({ channels: [{ id: 'C0OPS' }, { id: 'C0ALERTS' }] });
      const { ts } = await postToSlack('Backup 148 done');
      expect(await events.next('message')).toMatchObject({ channel: 'C0OPS', ts, text: 'Backup 148 done' });
      expect(await events.next('call')).toMatchObject({ method: 'chat.postMessage', ok: true });
    } finally {
      events.close();
    }
  });
});

interface EventStreamClient {
  next(event: string): Promise<unknown>;
  close(): void;
}

/** A minimal EventSource: parses frames as they arrive and hands out the next one of a kind. */
function openEventStream(url: string): Promise<EventStreamClient> {
  return new Promise((resolve, reject) => {
    const req = get(url, (res) => {
      const frames: Array<{ event: string; data: unknown }> = [];
      const waiters: Array<() => void> = [];
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const lines = buffer.slice(0, end).split('\n');
          buffer = buffer.slice(end + 2);
          const event = lines.find((l) => l.startsWith('event: '))?.slice(7);
          const data = lines.find((l) => l.startsWith('data: '))?.slice(6);
          if (event !== undefined && data !== undefined) frames.push({ event, data: JSON.parse(data) as unknown });
        }
        for (const wake of waiters.splice(0)) wake();
      });
      resolve({
        next(event) {
          return new Promise((found) => {
            const look = (): void => {
              const index = frames.findIndex((f) => f.event === event);
              if (index >= 0) found(frames.splice(index, 1)[0]?.data);
              else waiters.push(look);
            };
            look();
          });
        },
        close: () => req.destroy(),
      });
    });
    req.on('error', reject);
  });
}
