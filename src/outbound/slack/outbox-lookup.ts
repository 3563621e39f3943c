import { z } from 'zod';

/** Message metadata `event_type` of every outbox post: the job key travels with the message. */
export const OUTBOX_EVENT_TYPE = 'pgbackup_outbox';

/** The metadata a post carries so that, after an unanswered attempt, it can be found again. */
export function outboxMetadata(key: string): { event_type: string; event_payload: { key: string } } {
  return { event_type: OUTBOX_EVENT_TYPE, event_payload: { key } };
}

/** conversations.history / conversations.replies, as the outbox uses them. */
export interface ConversationsApi {
  history(args: Record<string, unknown>): Promise<unknown>;
  replies(args: Record<string, unknown>): Promise<unknown>;
}

export type LookupResult =
  | { kind: 'found'; ts: string }
  | { kind: 'absent' }
  /** Slack will not show the bot the channel (e.g. missing_scope): whether it landed is unknown. */
  | { kind: 'unverifiable'; reason: string };

export interface LookupJob {
  key: string;
  channel: string;
  payload: Record<string, unknown>;
  createdAt: number;
}

/** Answers of both methods; only what the lookup reads, everything else is ignored. */
const Page = z.object({
  messages: z
    .array(
      z.object({
        ts: z.string(),
        metadata: z.object({ event_type: z.string(), event_payload: z.record(z.string(), z.unknown()).optional() }).optional(),
      }),
    )
    .optional(),
  has_more: z.boolean().optional(),
  response_metadata: z.object({ next_cursor: z.string().optional() }).optional(),
});

/** Messages read per page, and pages read at most: a lookup is bounded whatever the channel holds. */
const PAGE_SIZE = 200;
const MAX_PAGES = 5;
/**
 * How far before the job was stored the search starts: the bot's clock and Slack's may differ.
 * Older messages can not be this job's, and a key reused after the state file was wiped stays
 * out of reach.
 */
const CLOCK_SLACK_MS = 10 * 60_000;

/**
 * Finds the message the job posted, by the key in its metadata: a parent in the channel's
 * history, a reply in its thread. Throws on transient failures (timeout, 5xx, 429), which the
 * caller retries; a Slack refusal to show the channel is `unverifiable`.
 */
export async function findPosted(api: ConversationsApi, job: LookupJob): Promise<LookupResult> {
  const threadTs = typeof job.payload.thread_ts === 'string' && job.payload.thread_ts !== '' ? job.payload.thread_ts : undefined;
  const oldest = (Math.max(0, job.createdAt - CLOCK_SLACK_MS) / 1000).toFixed(6);
  let cursor: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const args = {
      channel: job.channel,
      oldest,
      inclusive: true,
      limit: PAGE_SIZE,
      include_all_metadata: true,
      ...(threadTs === undefined ? {} : { ts: threadTs }),
      ...(cursor === undefined ? {} : { cursor }),
    };
    let raw: unknown;
    try {
      raw = threadTs === undefined ? await api.history(args) : await api.replies(args);
    } catch (err) {
      const refusal = platformError(err);
      if (refusal !== undefined) return { kind: 'unverifiable', reason: refusal };
      throw err;
    }
    const parsed = Page.safeParse(raw);
    if (!parsed.success) return { kind: 'unverifiable', reason: 'unexpected_answer' };
    const hit = (parsed.data.messages ?? []).find(
      (m) => m.metadata?.event_type === OUTBOX_EVENT_TYPE && m.metadata.event_payload?.key === job.key,
    );
    if (hit) return { kind: 'found', ts: hit.ts };
    cursor = parsed.data.response_metadata?.next_cursor;
    if (parsed.data.has_more !== true || !cursor) return { kind: 'absent' };
  }
  return { kind: 'unverifiable', reason: 'too_many_messages' };
}

/** Slack's own `ok:false` error: an answer, not a failure to get one. */
function platformError(err: unknown): string | undefined {
  const e = err as { code?: string; data?: { error?: unknown } } | undefined;
  if (e?.code !== 'slack_webapi_platform_error') return undefined;
  return typeof e.data?.error === 'string' ? e.data.error : 'error';
}
