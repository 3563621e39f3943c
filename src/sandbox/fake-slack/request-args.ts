import type { IncomingMessage } from 'node:http';
import { z } from 'zod';
import { mediaType } from '../http-util';

/** Fields the Web API client JSON-encodes inside a form body. */
const JSON_FIELDS = new Set(['blocks', 'attachments', 'metadata', 'view']);
/** Flags that arrive as "true"/"false" in a form body; tests compare them as booleans. */
const BOOLEAN_FIELDS = new Set([
  'reply_broadcast',
  'unfurl_links',
  'unfurl_media',
  'mrkdwn',
  'as_user',
  'link_names',
  'include_locale',
  'include_num_members',
  'include_all_metadata',
  'inclusive',
]);

const JsonObject = z.record(z.string(), z.unknown());

export type ParsedRequest =
  | { ok: true; token: string | undefined; args: Record<string, unknown> }
  | { ok: false; error: 'invalid_json' | 'invalid_form_data' };

function normalise(field: string, value: unknown): unknown {
  if (typeof value !== 'string') return value;
  if (JSON_FIELDS.has(field)) {
    try {
      return JSON.parse(value) as unknown;
    } catch {
      // Left as the string: the method reports invalid_blocks/invalid_attachments as Slack would.
      return value;
    }
  }
  if (BOOLEAN_FIELDS.has(field) && (value === 'true' || value === 'false')) return value === 'true';
  return value;
}

function bearer(req: IncomingMessage): string | undefined {
  const match = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  return match?.[1];
}

/** Slack accepts arguments in the query string, a form body or a JSON body, and merges them. */
export function parseApiRequest(req: IncomingMessage, rawBody: string): ParsedRequest {
  const raw: Record<string, unknown> = {};
  for (const [k, v] of new URL(req.url ?? '/', 'http://localhost').searchParams) raw[k] = v;

  const type = mediaType(req);
  if (rawBody.trim() !== '') {
    if (type === 'application/json') {
      let parsed: unknown;
      try {
        parsed = JSON.parse(rawBody);
      } catch {
        return { ok: false, error: 'invalid_json' };
      }
      const object = JsonObject.safeParse(parsed);
      if (!object.success) return { ok: false, error: 'invalid_json' };
      Object.assign(raw, object.data);
    } else if (type === 'application/x-www-form-urlencoded' || type === '') {
      for (const [k, v] of new URLSearchParams(rawBody)) raw[k] = v;
    } else {
      return { ok: false, error: 'invalid_form_data' };
    }
  }

  const tokenField = typeof raw.token === 'string' ? raw.token : undefined;
  delete raw.token;
  const args: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) args[k] = normalise(k, v);
  return { ok: true, token: bearer(req) ?? tokenField, args };
}
