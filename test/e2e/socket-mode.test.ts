import { Writable } from 'node:stream';
import { startBot } from '../../src/bot';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/logger';
import { blockActionsPayload, signSlackRequest, slashCommandBody } from '../../src/sandbox/slack-requests';
import { FakeSocketModeServer, isAck, type SocketModeConnection } from '../helpers/fake-socket-mode';
import { until } from '../helpers/bot-process';
import { freePort, httpGet } from '../helpers/http';
import { ALICE, BOB, findButton, Harness, httpPost, OPS, textOf, type Args, type HarnessOptions } from './harness';

/**
 * The real bot in Socket Mode (SLACK_APP_TOKEN set, no signing secret): the fake Web API hands
 * out the URL of a fake Socket Mode endpoint from apps.connections.open; the test plays Slack on
 * that WebSocket, delivering envelopes and reading the bot's acks, and watches the Web API
 * calls and the simulator as the HTTP-mode tests do.
 */

const APP_TOKEN = 'xapp-1-test';
const PG = 'pg-orders';
/** Slack shows "did not respond" when an envelope is not acked within 3 seconds. */
const SLACK_ACK_DEADLINE_MS = 3000;

const isParent = (a: Args) => a.channel === OPS.id && a.thread_ts === undefined && /Backup of/.test(textOf(a));
const replyIn = (ts: string, status: string) => (a: Args) => a.thread_ts === ts && new RegExp(`is ${status}|${status.toUpperCase()}`).test(a.text ?? '');
const isCard = (a: Args) => a.channel === OPS.id && a.thread_ts === undefined && /Restore of .* requested/.test(a.text ?? '');

function socketModeOptions(socketModeUrl: string, extra: HarnessOptions = {}): HarnessOptions {
  return {
    ...extra,
    // '' unsets the harness's signing secret: Socket Mode needs none.
    env: { SLACK_APP_TOKEN: APP_TOKEN, SLACK_SIGNING_SECRET: '', ...extra.env },
    slack: { socketModeUrl, appToken: APP_TOKEN, ...extra.slack },
  };
}

/** The fields of a slash command, as Socket Mode carries them: the HTTP form body as a JSON object. */
function commandPayload(h: Harness, text: string, user = ALICE, channel = OPS): Record<string, string> {
  const body = slashCommandBody({ user, channel, text, responseUrl: h.slack.responseUrlFor({ user: user.id, channel: channel.id }) });
  return Object.fromEntries(new URLSearchParams(body));
}

/** A button click on a message the bot posted, as the payload of an `interactive` envelope. */
function clickPayload(h: Harness, message: { ts: string; blocks: unknown[] }, actionId: string, user = BOB, channel = OPS) {
  const button = findButton(message.blocks, actionId);
  if (!button) throw new Error(`no button ${actionId} on message ${message.ts}`);
  return blockActionsPayload({
    user,
    channel,
    message: { ts: message.ts, text: '', blocks: message.blocks },
    messageTs: message.ts,
    isEphemeral: false,
    responseUrl: h.slack.responseUrlFor({ user: user.id, channel: channel.id, messageTs: message.ts }),
    action: { actionId, blockId: button.blockId, value: button.value, text: button.text },
  });
}

async function readyz(h: Harness): Promise<{ status: number; body: unknown }> {
  const res = await httpGet(`${h.bot.url}/readyz`);
  return { status: res.status, body: JSON.parse(res.text) as unknown };
}

describe('Socket Mode end to end', () => {
  let socket: FakeSocketModeServer;
  let h: Harness | undefined;
  let conn: SocketModeConnection;

  /** The harness, started in beforeEach (a failed start fails the test there). */
  const bot = (): Harness => {
    if (!h) throw new Error('harness not started');
    return h;
  };

  beforeEach(async () => {
    socket = await FakeSocketModeServer.start();
    const connected = socket.waitForConnection();
    h = await Harness.start(socketModeOptions(socket.url, { simulator: { instances: [PG] } }));
    conn = await connected;
  });
  afterEach(async () => {
    await h?.close();
    h = undefined;
    await socket.close();
    expect(socket.connections.flatMap((c) => c.violations)).toEqual([]);
  });

  it('connects with the app token, serves /healthz and /readyz, and serves no /slack/events', async () => {
    const b = bot();
    expect(b.config.slack).toMatchObject({ appToken: APP_TOKEN, signingSecret: undefined });
    // The fake answers apps.connections.open only for exactly APP_TOKEN (not the bot token).
    const opens = b.callsOf('apps.connections.open');
    expect(opens).toHaveLength(1);
    expect(opens[0]).toMatchObject({ status: 200, response: { ok: true, url: socket.url } });
    expect(conn.request.url).toBe(new URL(socket.url).pathname + new URL(socket.url).search);
    expect(b.bot.slack.requestListener).toBeUndefined();
    expect(b.bot.slack.connected()).toBe(true);
    await b.waitForLog(/"mode":"socket".*"pgbackup-bot started"/);

    expect((await httpGet(`${b.bot.url}/healthz`)).status).toBe(200);
    expect(await readyz(b)).toEqual({ status: 200, body: { ready: true, slack: 'ok', backupManager: 'ok', store: 'ok', api: 'legacy', role: 'leader' } });

    // A request shaped and signed as Slack's HTTP delivery finds no endpoint: Socket Mode only.
    const body = slashCommandBody({ user: ALICE, channel: OPS, text: 'now', responseUrl: b.slack.responseUrlFor({ user: ALICE.id, channel: OPS.id }) });
    const signed = signSlackRequest('any-secret', body).headers;
    expect((await httpPost(`${b.bot.url}/slack/events`, signed, body)).status).toBe(404);
    expect((await httpPost(`${b.bot.url}/slack/events`, { 'content-type': 'application/x-www-form-urlencoded' }, body)).status).toBe(404);
    expect(b.managerRequests('POST')).toHaveLength(0);
    expect(b.callsOf('chat.postMessage')).toHaveLength(0);
  });

  it('a slash command delivered again (a redelivered envelope) is acked and starts nothing more', async () => {
    const b = bot();
    const payload = commandPayload(b, 'now');
    await conn.deliver('slash_commands', payload);
    await b.waitFor('chat.postMessage', isParent);
    const again = await conn.deliver('slash_commands', payload);
    expect(again.ackMs).toBeLessThan(SLACK_ACK_DEADLINE_MS);
    // Each delivery ends in exactly one count (its outcome, or "ignored"): both counted, the bot has settled.
    await until('both deliveries handled', async () => ((await b.bot.deps.metrics.commands.get()).values.reduce((n, v) => n + v.value, 0) >= 2 ? true : undefined));
    expect(b.managerRequests('POST', '/backup_agent/backup')).toHaveLength(1);
    expect(b.callsOf('chat.postMessage', isParent)).toHaveLength(1);
  });

  it('/pgbackup now: acks over the socket, starts one backup, and posts queued → running → done in the thread', async () => {
    const b = bot();
    const { envelopeId, ack, ackMs } = await conn.deliver('slash_commands', commandPayload(b, 'now'));
    expect(ack.envelope_id).toBe(envelopeId);
    expect(ackMs).toBeLessThan(SLACK_ACK_DEADLINE_MS);
    expect(ack.payload).toMatchObject({ response_type: 'ephemeral' });
    expect(conn.received.filter((m) => isAck(m) && m.envelope_id === envelopeId)).toHaveLength(1);

    const parent = await b.waitFor('chat.postMessage', isParent);
    const ts = (parent.response as { ts: string }).ts;
    const posts = b.managerRequests('POST', '/backup_agent/backup');
    expect(posts).toHaveLength(1);
    expect(posts[0]?.body).toEqual({ instance_guid: 'a9s-pg' });
    expect(textOf(parent.args as Args)).toMatch(/U0ALICE/);

    await b.waitFor('chat.postMessage', replyIn(ts, 'queued'));
    await b.sim.step();
    await b.waitFor('chat.postMessage', replyIn(ts, 'running'));
    await b.sim.step();
    const done = await b.waitFor('chat.postMessage', replyIn(ts, 'done'));
    expect(textOf(done.args as Args)).toMatch(/a9s-pg-\d+/);
    await b.waitFor('chat.update', (a) => a.ts === ts && /: done/.test(a.text ?? ''));
    const replies = b.callsOf('chat.postMessage', (a) => a.thread_ts === ts).map((c) => /queued|running|done/.exec((c.args as Args).text ?? '')?.[0]);
    expect(replies).toEqual(['queued', 'running', 'done']);
    expect(b.managerRequests('POST', '/backup_agent/backup')).toHaveLength(1);
  });

  it('restore: requested by a command envelope, approved by an interactive envelope from another person → exactly one restore', async () => {
    const b = bot();
    const backupId = b.sim.seedBackup(PG, { status: 'done', size: 44985152, createdAt: new Date(Date.now() - 3_600_000) });
    const request = await conn.deliver('slash_commands', commandPayload(b, `restore ${backupId} ${PG} bad migration`));
    expect(request.ack.envelope_id).toBe(request.envelopeId);
    expect(request.ackMs).toBeLessThan(SLACK_ACK_DEADLINE_MS);
    const cardCall = await b.waitFor('chat.postMessage', isCard);
    const card = { ts: (cardCall.response as { ts: string }).ts, blocks: (cardCall.args as Args).blocks ?? [] };
    expect(b.managerRequests('POST', '/backup_agent/restores')).toHaveLength(0);

    const click = clickPayload(b, card, 'restore_approve', BOB);
    const approve = await conn.deliver('interactive', click);
    expect(approve.ack.envelope_id).toBe(approve.envelopeId);
    expect(approve.ackMs).toBeLessThan(SLACK_ACK_DEADLINE_MS);
    await b.waitFor('chat.update', (a) => a.ts === card.ts && /Restore running/.test(textOf(a)));
    const restores = b.managerRequests('POST', '/backup_agent/restores');
    expect(restores).toHaveLength(1);
    expect(restores[0]?.body).toEqual({ backup_id: backupId, instance_id: b.sim.view(PG).id });

    // The same click delivered again (Slack redelivers an envelope it thinks was lost): acked, no second restore,
    // and nothing said: a repeat is recognised before any handler (both clicks counted: the bot has settled).
    const again = await conn.deliver('interactive', click);
    expect(again.ack.envelope_id).toBe(again.envelopeId);
    await until('both clicks handled', async () => ((await b.bot.deps.metrics.actions.get()).values.reduce((n, v) => n + v.value, 0) >= 2 ? true : undefined));
    expect(b.managerRequests('POST', '/backup_agent/restores')).toHaveLength(1);
    expect(b.ephemerals(BOB.id).filter((t) => /already decided/.test(t))).toHaveLength(0);
  });

  it('reconnects when Slack asks it to (type: disconnect), through a failed apps.connections.open, and serves commands again; /readyz is 503 in between', async () => {
    const b = bot();
    // The first reconnect attempt meets a Slack hiccup: retried, not fatal.
    b.slack.failNext('apps.connections.open', { status: 500 });
    conn.sendJson({ type: 'disconnect', reason: 'refresh_requested', debug_info: { host: 'applink-fake' } });
    await conn.waitForClose();
    expect(conn.closeCode).toBe(1000);
    expect(b.bot.slack.connected()).toBe(false);
    expect(await readyz(b)).toMatchObject({ status: 503, body: { slack: 'down' } });

    // @slack/socket-mode waits clientPingTimeout (5 s) before it reconnects, and its Web API client ~1 s before a retry.
    const next = await socket.waitForConnection(1, 15_000);
    expect(b.callsOf('apps.connections.open').map((c) => c.status)).toEqual([200, 500, 200]);
    const { envelopeId, ack } = await next.deliver('slash_commands', commandPayload(b, 'help'));
    expect(ack.envelope_id).toBe(envelopeId);
    expect(textOf(ack.payload as Args)).toMatch(/\/pgbackup now/);
    expect(b.bot.slack.connected()).toBe(true);
    expect((await readyz(b)).status).toBe(200);
  }, 30_000);

  it('bot.stop() closes the WebSocket with a close handshake before it resolves', async () => {
    const b = bot();
    await b.bot.stop();
    // The handshake is done when stop() resolves: the server has the client's close frame.
    // Its TCP close is the server's own next step, seen a moment later.
    expect(conn.closeCode).toBe(1000);
    await conn.waitForClose();
    expect(conn.isClosed).toBe(true);
    expect(b.bot.slack.connected()).toBe(false);
    expect(b.callsOf('apps.connections.open')).toHaveLength(1);
  });
});

describe('Socket Mode start when Slack is not all there', () => {
  let socket: FakeSocketModeServer | undefined;
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
    await socket?.close();
    socket = undefined;
  });

  it('fails the start at once when Slack refuses the app token, and leaves nothing listening', async () => {
    socket = await FakeSocketModeServer.start();
    h = await Harness.start({ ...socketModeOptions(socket.url, { slack: { appToken: 'xapp-1-another-app' } }), startBot: false });
    const port = await freePort();
    const lines: string[] = [];
    const sink = new Writable({
      write: (chunk: Buffer, _enc, done) => {
        lines.push(chunk.toString());
        done();
      },
    });
    const config = loadConfig({ ...h.env(), PORT: String(port) });
    await expect(startBot({ config, logger: createLogger({ level: 'info', destination: sink }), host: '127.0.0.1' })).rejects.toThrow(/invalid_auth/);
    expect(h.callsOf('apps.connections.open')).toEqual([expect.objectContaining({ response: { ok: false, error: 'invalid_auth' } })]);
    expect(socket.connections).toHaveLength(0);
    expect(lines.join('')).toMatch(/pgbackup-bot stopped/);
    await expect(httpGet(`http://127.0.0.1:${port}/healthz`, 1000)).rejects.toThrow(/ECONNREFUSED/);
  });

  it("does not hang when Slack's hello never comes: starts, /readyz says Slack is down, and the hello later makes it ready", async () => {
    socket = await FakeSocketModeServer.start({ hello: false });
    const connected = socket.waitForConnection();
    h = await Harness.start(socketModeOptions(socket.url, { bot: { slackConnectTimeoutMs: 200 } }));
    const conn = await connected;
    await h.waitForLog(/Slack Socket Mode not connected yet/);
    expect(h.bot.slack.connected()).toBe(false);
    expect((await httpGet(`${h.bot.url}/healthz`)).status).toBe(200);
    expect(await readyz(h)).toEqual({ status: 503, body: { ready: false, slack: 'down', backupManager: 'ok', store: 'ok', api: 'legacy', role: 'leader' } });

    conn.sendJson({ type: 'hello', num_connections: 1 });
    await h.waitForLog(/Slack Socket Mode connected/);
    expect(await readyz(h)).toMatchObject({ status: 200, body: { ready: true, slack: 'ok' } });
    const { envelopeId, ack } = await conn.deliver('slash_commands', commandPayload(h, 'help'));
    expect(ack.envelope_id).toBe(envelopeId);
  });

  it('does not hang when the WebSocket endpoint is unreachable, and stops cleanly while the client retries', async () => {
    const closedPort = await freePort();
    h = await Harness.start(socketModeOptions(`ws://127.0.0.1:${closedPort}/link/?ticket=t`, { bot: { slackConnectTimeoutMs: 200 } }));
    await h.waitForLog(/Slack Socket Mode not connected yet/);
    expect(h.callsOf('apps.connections.open').length).toBeGreaterThanOrEqual(1);
    expect(await readyz(h)).toMatchObject({ status: 503, body: { slack: 'down' } });
    await h.bot.stop();
    expect(h.bot.slack.connected()).toBe(false);
  });
});
