import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { parse as parseQuery } from 'node:querystring';
import type { Logger } from 'pino';
import { sendJson } from '../http/server';

/** Slack's replay window, both ways: a timestamp from the future stays replayable just as long. */
export const MAX_CLOCK_SKEW_SEC = 5 * 60;
/** Slack's own payloads are a few KB; a view can reach a few hundred. */
export const MAX_BODY_BYTES = 1024 * 1024;

export interface SlackEventsGuardOptions {
  signingSecret: string;
  logger: Logger;
  clock?: () => number;
}

type Verdict = { ok: true } | { ok: false; status: number; reason: string };

const refuse = (status: number, reason: string): Verdict => ({ ok: false, status, reason });

/** A non-null JSON object, the only shape Bolt can read without throwing in its async code. */
function isObjectJson(text: string): boolean {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value);
  } catch {
    return false;
  }
}

/** Signature (v0 HMAC) and a timestamp within the window, past or future. Pure but for the clock. */
export function checkSignature(headers: IncomingMessage['headers'], body: Buffer, secret: string, nowMs: number): Verdict {
  const ts = headers['x-slack-request-timestamp'];
  const sig = headers['x-slack-signature'];
  if (typeof ts !== 'string' || typeof sig !== 'string' || !/^\d{1,12}$/.test(ts)) return refuse(401, 'unsigned');
  if (Math.abs(nowMs / 1000 - Number(ts)) > MAX_CLOCK_SKEW_SEC) return refuse(401, 'timestamp outside the 5-minute window');
  const expected = Buffer.from(`v0=${createHmac('sha256', secret).update(`v0:${ts}:`).update(body).digest('hex')}`);
  const given = Buffer.from(sig);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return refuse(401, 'bad signature');
  return { ok: true };
}

/** Whether Bolt can dispatch the body: a slash command form, a form `payload` holding an object, or a JSON object. */
export function checkBody(contentType: string | undefined, body: Buffer): Verdict {
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase();
  const text = body.toString('utf8');
  if (type === 'application/x-www-form-urlencoded') {
    const form = parseQuery(text);
    if (form.payload !== undefined) return typeof form.payload === 'string' && isObjectJson(form.payload) ? { ok: true } : refuse(400, 'malformed payload');
    return typeof form.command === 'string' ? { ok: true } : refuse(400, 'form body without command or payload');
  }
  if (type === 'application/json') return isObjectJson(text) ? { ok: true } : refuse(400, 'malformed JSON body');
  return refuse(400, 'unsupported content type');
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        resolve(undefined);
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/**
 * The gate in front of Bolt on /slack/events: only signed, fresh, well-formed POSTs reach it.
 * Bolt answers other methods with a 500 and an error carrying the whole request, and throws
 * in its async code on a signed `payload=null`; neither may happen here. Refusals log one
 * short line, never the request itself.
 */
export function guardSlackEvents(options: SlackEventsGuardOptions, bolt: RequestListener): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const clock = options.clock ?? Date.now;
  const log = options.logger.child({ component: 'slack-events' });
  const refused = (req: IncomingMessage, res: ServerResponse, status: number, reason: string, headers: Record<string, string> = {}) => {
    log.warn({ method: req.method, status, reason }, 'refused a request to /slack/events');
    sendJson(res, status, { error: reason }, headers);
  };
  return async (req, res) => {
    if (req.method !== 'POST') return refused(req, res, 405, 'method not allowed', { allow: 'POST' });
    const body = await readBody(req, MAX_BODY_BYTES);
    if (body === undefined) return refused(req, res, 413, 'body too large', { connection: 'close' });
    // Slack's SSL check is unsigned by design; Bolt answers it without dispatching anything.
    const form = (req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded') ? parseQuery(body.toString('utf8')) : undefined;
    if (form?.ssl_check !== '1') {
      const signed = checkSignature(req.headers, body, options.signingSecret, clock());
      if (!signed.ok) return refused(req, res, signed.status, signed.reason);
      const wellFormed = checkBody(req.headers['content-type'], body);
      if (!wellFormed.ok) return refused(req, res, wellFormed.status, wellFormed.reason);
    }
    // Bolt reads a buffered body from `rawBody` instead of the (consumed) stream.
    (req as IncomingMessage & { rawBody?: Buffer }).rawBody = body;
    bolt(req, res);
  };
}
