import { request } from 'node:http';
import { Harness, SIGNING_SECRET, textOf } from '../e2e/harness';
import { signSlackRequest } from '../../src/sandbox/slack-requests';

/** A request with any method and headers; resolves with status, headers and body. */
function send(url: string, method: string, headers: Record<string, string>, body?: string): Promise<{ status: number; headers: Record<string, unknown>; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, agent: false, timeout: 5000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Issue 11 items 3 (timestamps), 7 (malformed bodies) and 8 (non-POST): the edge of /slack/events. */
describe('/slack/events edge', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await Harness.start();
  });
  afterEach(async () => {
    await h.close();
  });

  /** The bot still does its job: a `help` after the bad requests gets its usage. */
  async function stillServes(): Promise<void> {
    const { status, ack } = await h.command('help');
    expect(status).toBe(200);
    expect(textOf(ack)).toMatch(/\/pgbackup now/);
  }

  it('answers 405 to other methods, with Allow: POST and one short log line holding no header', async () => {
    const authorization = 'Bearer very-secret-authorization-value-123';
    const cookie = 'session=very-secret-cookie-value-456';
    const before = h.logs.length;
    for (const method of ['GET', 'PUT', 'DELETE']) {
      const res = await send(`${h.bot.url}/slack/events`, method, { authorization, cookie, 'x-padding': 'p'.repeat(8000) });
      expect(res.status).toBe(405);
      expect(res.headers.allow).toBe('POST');
    }
    await stillServes();
    const lines = h.logs.slice(before).join('').split('\n').filter((l) => /slack\/events|405|method/.test(l));
    expect(lines).toHaveLength(3);
    for (const line of lines) {
      expect(line.length).toBeLessThan(400);
      expect(line).not.toContain('very-secret');
      expect(line).not.toContain('ppppp');
    }
    expect(h.logs.slice(before).join('')).not.toMatch(/very-secret|ppppppppp/);
  });

  it.each([
    ['form payload=null', 'application/x-www-form-urlencoded', 'payload=null'],
    ['form payload that is not JSON', 'application/x-www-form-urlencoded', 'payload=%7Bnope'],
    ['form payload that is an array', 'application/x-www-form-urlencoded', 'payload=%5B1%5D'],
    ['form body with neither command nor payload', 'application/x-www-form-urlencoded', 'a=1'],
    ['JSON null', 'application/json', 'null'],
    ['JSON number', 'application/json', '42'],
    ['JSON that does not parse', 'application/json', '{"type":'],
    ['an unknown content type', 'text/plain', 'hello'],
  ])('refuses a signed %s with 400 and keeps serving', async (_name, type, body) => {
    const { headers } = signSlackRequest(SIGNING_SECRET, body);
    const answer = await send(`${h.bot.url}/slack/events`, 'POST', { ...headers, 'content-type': type }, body);
    expect(answer.status).toBe(400);
    await stillServes();
    expect(h.logs.join('')).not.toMatch(/Cannot read properties of null/);
  });

  it.each([
    ['10 minutes ahead', 600],
    ['a year ahead', 365 * 24 * 3600],
    ['10 minutes ago', -600],
  ])('refuses a properly signed command timestamped %s with 401, and runs nothing', async (_name, offset) => {
    const res = await h.post('command=%2Fpgbackup&text=now&user_id=U0ALICE&user_name=alice&channel_id=C0OPS&channel_name=ops&team_id=T0001', {
      timestamp: Math.floor(Date.now() / 1000) + offset,
    });
    expect(res.status).toBe(401);
    await stillServes();
    expect(h.managerRequests('POST')).toHaveLength(0);
    expect(h.callsOf('chat.postMessage')).toHaveLength(0);
  });
});
