import pino from 'pino';
import { PRIORITY } from '../../domain/message-keys';
import { openStore, type Store } from '../../ports/store';
import { Metrics } from '../metrics';
import { Outbox, type ChatApi } from './outbox';
import { OUTBOX_EVENT_TYPE } from './outbox-lookup';

interface Call {
  method: 'postMessage' | 'update';
  args: Record<string, unknown>;
}

/** A stub Web API: answers from a script of outcomes, records every call. */
function stubChat(script: Array<'ok' | { code: string; retryAfter?: number; error?: string }> = []) {
  const calls: Call[] = [];
  let n = 0;
  const answer = async (method: Call['method'], args: Record<string, unknown>) => {
    calls.push({ method, args });
    const step = script[n++] ?? 'ok';
    if (step === 'ok') return { ok: true, ts: `1700000000.${String(n).padStart(6, '0')}` };
    throw Object.assign(new Error(step.code), { code: step.code, retryAfter: step.retryAfter, data: step.error ? { error: step.error } : undefined });
  };
  const chat: ChatApi = { chat: { postMessage: (a) => answer('postMessage', a), update: (a) => answer('update', a) } };
  return { chat, calls };
}

describe('outbox', () => {
  let store: Store;
  const logger = pino({ level: 'silent' });
  beforeEach(() => {
    store = openStore(':memory:');
  });
  afterEach(() => store.close());

  it('sends a job once per idempotency key and tells the ref handler the ts', async () => {
    const { chat, calls } = stubChat();
    const outbox = new Outbox({ chat, store, logger, channelIntervalMs: 0 });
    const seen: Array<[number, string | null]> = [];
    outbox.onRef('task-parent', (id, ts) => seen.push([id, ts]));
    const job = outbox.enqueue({ key: 'a', channel: 'C1', method: 'chat.postMessage', payload: { channel: 'C1', text: 'hi' }, ref: 'task-parent:7' });
    expect(outbox.enqueue({ key: 'a', channel: 'C1', method: 'chat.postMessage', payload: { channel: 'C1', text: 'again' } })).toBeUndefined();
    const settled = await outbox.settled(job!.id);
    expect(settled.state).toBe('sent');
    expect(calls).toHaveLength(1);
    expect(seen).toEqual([[7, settled.resultTs]]);
    await outbox.drain(100);
  });

  it('waits Retry-After on a 429 and then delivers, in order, without counting it as a failure', async () => {
    const { chat, calls } = stubChat([{ code: 'slack_webapi_rate_limited_error', retryAfter: 0.05 } as never, 'ok', 'ok']);
    const outbox = new Outbox({ chat, store, logger, channelIntervalMs: 0, maxAttempts: 1 });
    const a = outbox.enqueue({ key: 'a', channel: 'C1', method: 'chat.postMessage', payload: { text: 'first' } });
    const b = outbox.enqueue({ key: 'b', channel: 'C1', method: 'chat.postMessage', payload: { text: 'second' } });
    expect((await outbox.settled(a!.id)).state).toBe('sent');
    expect((await outbox.settled(b!.id)).state).toBe('sent');
    expect(calls.map((c) => c.args.text)).toEqual(['first', 'first', 'second']);
    await outbox.drain(100);
  });

  it('gives up at once on a permanent Slack error and reports it', async () => {
    const { chat, calls } = stubChat([{ code: 'slack_webapi_platform_error', error: 'not_in_channel' }]);
    const outbox = new Outbox({ chat, store, logger, channelIntervalMs: 0 });
    const errors: Array<string | null> = [];
    outbox.onRef('task-parent', (_id, _ts, err) => errors.push(err));
    const job = outbox.enqueue({ key: 'a', channel: 'C1', method: 'chat.postMessage', payload: {}, ref: 'task-parent:1' });
    const settled = await outbox.settled(job!.id);
    expect(settled).toMatchObject({ state: 'failed', error: 'not_in_channel' });
    expect(calls).toHaveLength(1);
    expect(errors).toEqual(['not_in_channel']);
    await outbox.drain(100);
  });

  it('retries a transient error up to maxAttempts', async () => {
    const transient = { code: 'slack_webapi_http_error' };
    const { chat, calls } = stubChat([transient, 'ok', transient, transient, transient, 'ok']);
    const outbox = new Outbox({ chat, store, logger, channelIntervalMs: 0, maxAttempts: 3 });
    const job = outbox.enqueue({ key: 'a', channel: 'C1', method: 'chat.postMessage', payload: {} });
    expect((await outbox.settled(job!.id)).state).toBe('sent');
    expect(calls).toHaveLength(2);
    // A job that keeps failing stops at the cap: the 'ok' a fourth attempt would get is never asked for.
    const capped = outbox.enqueue({ key: 'b', channel: 'C1', method: 'chat.postMessage', payload: {} });
    expect(await outbox.settled(capped!.id)).toMatchObject({ state: 'failed', error: 'slack_webapi_http_error' });
    expect(calls).toHaveLength(5);
    await outbox.drain(100);
  });

  it('a store that refuses a write between attempts uses up no Slack attempt: the job goes out once the store takes writes again', async () => {
    const { chat, calls } = stubChat();
    const outbox = new Outbox({ chat, store, logger, channelIntervalMs: 0, maxAttempts: 1 });
    const startAttempt = store.outbox.startAttempt.bind(store.outbox);
    const busy = Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
    const refusals = jest
      .spyOn(store.outbox, 'startAttempt')
      .mockImplementationOnce(() => {
        throw busy;
      })
      .mockImplementation(startAttempt);
    const job = outbox.enqueue({ key: 'a', channel: 'C1', method: 'chat.postMessage', payload: { text: 'running' } });
    expect((await outbox.settled(job!.id)).state).toBe('sent');
    expect(refusals).toHaveBeenCalledTimes(2);
    expect(calls).toHaveLength(1);
    await outbox.drain(100);
  });

  it('sends only the newest of several queued edits of one message', async () => {
    const { chat, calls } = stubChat();
    const outbox = new Outbox({ chat, store, logger, channelIntervalMs: 0 });
    const first = outbox.enqueue({ key: 'p', channel: 'C1', method: 'chat.postMessage', payload: { text: 'post' } });
    const edits = [1, 2, 3].map((i) => outbox.enqueue({ key: `e${i}`, channel: 'C1', method: 'chat.update', payload: { ts: '1.1', text: `edit ${i}` } }));
    await outbox.settled(first!.id);
    for (const e of edits) await outbox.settled(e!.id);
    expect(calls.map((c) => c.args.text)).toEqual(['post', 'edit 3']);
    await outbox.drain(100);
  });

  it('resumes the jobs a previous run left pending, in their order', async () => {
    store.outbox.add({ key: 'x', channel: 'C1', method: 'chat.postMessage', payload: { text: 'one' } }, 1);
    store.outbox.add({ key: 'y', channel: 'C1', method: 'chat.postMessage', payload: { text: 'two' } }, 2);
    const { chat, calls } = stubChat();
    const outbox = new Outbox({ chat, store, logger, channelIntervalMs: 0 });
    expect(outbox.resume()).toBe(2);
    await outbox.settled(store.outbox.byKey('y')!.id);
    expect(calls.map((c) => c.args.text)).toEqual(['one', 'two']);
    expect(store.outbox.pendingCount()).toBe(0);
    await outbox.drain(100);
  });

  it("takes a job's priority from the job, not from its key, also for jobs a previous run left", async () => {
    // Stored before the outbox starts: all three wait for the channel together.
    store.outbox.add({ key: 'x', channel: 'C1', method: 'chat.postMessage', payload: { text: 'normal' } }, 1);
    store.outbox.add({ key: 'restore:1:card:pending:1', channel: 'C1', method: 'chat.postMessage', payload: { text: 'card-like key' }, priority: PRIORITY.normal }, 2);
    store.outbox.add({ key: 'y', channel: 'C1', method: 'chat.postMessage', payload: { text: 'urgent' }, priority: PRIORITY.decision }, 3);
    const { chat, calls } = stubChat();
    const outbox = new Outbox({ chat, store, logger, channelIntervalMs: 0 });
    expect(outbox.resume()).toBe(3);
    for (const key of ['x', 'restore:1:card:pending:1', 'y']) await outbox.settled(store.outbox.byKey(key)!.id);
    // The first stored job may already be under way when the others queue; of those, the urgent one goes first.
    const order = calls.map((c) => c.args.text);
    expect(order).toHaveLength(3);
    expect(order.indexOf('urgent')).toBeLessThan(order.indexOf('card-like key'));
    await outbox.drain(100);
  });

  describe('a post whose answer never came', () => {
    type Step = 'ok' | 'accept-then-500' | 'hang' | { code: string; error?: string };
    interface Posted {
      ts: string;
      channel: string;
      thread_ts?: string;
      text?: unknown;
      metadata?: { event_type: string; event_payload: Record<string, unknown> };
    }

    /**
     * A stub Web API that keeps what it posted, metadata included, and serves it from
     * conversations.history/replies like Slack (newest first / parent first); its script can
     * take a post and still fail, or never answer.
     */
    function slackWithHistory(script: Step[] = [], history: 'ok' | { error: string } = 'ok') {
      const posted: Posted[] = [];
      const calls: string[] = [];
      let n = 0;
      let seq = 0;
      const post = (a: Record<string, unknown>): Posted => {
        const m: Posted = { ts: `1700000000.${String(++seq).padStart(6, '0')}`, channel: String(a.channel), text: a.text, metadata: a.metadata as Posted['metadata'] };
        if (typeof a.thread_ts === 'string') m.thread_ts = a.thread_ts;
        posted.push(m);
        return m;
      };
      const read = (method: string, pick: (m: Posted) => boolean) => async () => {
        calls.push(method);
        if (history !== 'ok') throw Object.assign(new Error(history.error), { code: 'slack_webapi_platform_error', data: { ok: false, error: history.error } });
        return { ok: true, messages: posted.filter(pick).map(({ ts, metadata }) => ({ ts, ...(metadata ? { metadata } : {}) })), has_more: false };
      };
      const chat: ChatApi = {
        chat: {
          postMessage: async (a) => {
            calls.push('postMessage');
            const step = script[n++] ?? 'ok';
            if (step === 'hang') return new Promise<never>(() => undefined);
            if (step === 'ok') return { ts: post(a).ts };
            if (step === 'accept-then-500') {
              post(a);
              throw Object.assign(new Error('An HTTP protocol error occurred: statusCode = 500'), { code: 'slack_webapi_http_error', statusCode: 500 });
            }
            throw Object.assign(new Error(step.code), { code: step.code, data: step.error ? { ok: false, error: step.error } : undefined });
          },
          update: async () => ({ ts: '0' }),
        },
        conversations: {
          history: (a) => read('history', (m) => m.channel === a.channel && m.thread_ts === undefined)(),
          replies: (a) => read('replies', (m) => m.channel === a.channel && (m.ts === a.ts || m.thread_ts === a.ts))(),
        },
      };
      return { chat, posted, calls };
    }

    it('Slack took the post and answered 500: the retry finds it by its metadata and posts nothing more', async () => {
      const { chat, posted, calls } = slackWithHistory(['accept-then-500']);
      const outbox = new Outbox({ chat, store, logger, channelIntervalMs: 0 });
      const seen: Array<string | null> = [];
      outbox.onRef('task-parent', (_id, ts) => seen.push(ts));
      const job = outbox.enqueue({ key: 'task:1:parent', channel: 'C1', method: 'chat.postMessage', payload: { channel: 'C1', text: 'parent' }, ref: 'task-parent:1' });
      const settled = await outbox.settled(job!.id);
      expect(posted).toHaveLength(1);
      expect(posted[0]?.metadata).toEqual({ event_type: OUTBOX_EVENT_TYPE, event_payload: { key: 'task:1:parent' } });
      expect(calls).toEqual(['postMessage', 'history']);
      expect(settled).toMatchObject({ state: 'sent', resultTs: posted[0]?.ts, inFlight: false });
      expect(seen).toEqual([posted[0]?.ts]);
      await outbox.drain(100);
    });

    it('a thread reply is looked up in its thread with conversations.replies', async () => {
      const { chat, posted, calls } = slackWithHistory(['ok', 'accept-then-500']);
      const outbox = new Outbox({ chat, store, logger, channelIntervalMs: 0 });
      const parent = await outbox.settled(outbox.enqueue({ key: 'p', channel: 'C1', method: 'chat.postMessage', payload: { channel: 'C1', text: 'p' } })!.id);
      const reply = outbox.enqueue({ key: 'r', channel: 'C1', method: 'chat.postMessage', payload: { channel: 'C1', thread_ts: parent.resultTs, text: 'r' } });
      expect(await outbox.settled(reply!.id)).toMatchObject({ state: 'sent', resultTs: posted[1]?.ts });
      expect(posted.map((m) => m.text)).toEqual(['p', 'r']);
      expect(calls).toEqual(['postMessage', 'postMessage', 'replies']);
      await outbox.drain(100);
    });

    it('a 500 before Slack took it: looked up, not found, posted once more', async () => {
      const { chat, posted, calls } = slackWithHistory([{ code: 'slack_webapi_http_error' }]);
      const outbox = new Outbox({ chat, store, logger, channelIntervalMs: 0 });
      const job = outbox.enqueue({ key: 'k', channel: 'C1', method: 'chat.postMessage', payload: { channel: 'C1', text: 'x' } });
      expect((await outbox.settled(job!.id)).state).toBe('sent');
      expect(calls).toEqual(['postMessage', 'history', 'postMessage']);
      expect(posted).toHaveLength(1);
      await outbox.drain(100);
    });

    it('an ok:false answer is certain (nothing landed): retried without a lookup', async () => {
      const { chat, calls } = slackWithHistory([{ code: 'slack_webapi_platform_error', error: 'internal_error' }]);
      const outbox = new Outbox({ chat, store, logger, channelIntervalMs: 0 });
      const job = outbox.enqueue({ key: 'k', channel: 'C1', method: 'chat.postMessage', payload: { channel: 'C1', text: 'x' } });
      expect((await outbox.settled(job!.id)).state).toBe('sent');
      expect(calls).toEqual(['postMessage', 'postMessage']);
      await outbox.drain(100);
    });

    it('a job a crashed run left in flight: found in Slack at resume, recorded, never posted again', async () => {
      // The previous run marked the attempt, Slack took the post, and the process died before the answer.
      const { chat, posted, calls } = slackWithHistory();
      const row = store.outbox.add({ key: 'task:3:parent', channel: 'C1', method: 'chat.postMessage', payload: { channel: 'C1', text: 'parent' }, ref: 'task-parent:3' }, Date.now());
      store.outbox.startAttempt(row!.id, 0);
      await chat.chat.postMessage({ channel: 'C1', text: 'parent', metadata: { event_type: OUTBOX_EVENT_TYPE, event_payload: { key: 'task:3:parent' } } });
      calls.length = 0;

      const outbox = new Outbox({ chat, store, logger, channelIntervalMs: 0 });
      const seen: Array<[number, string | null]> = [];
      outbox.onRef('task-parent', (id, ts) => seen.push([id, ts]));
      expect(outbox.resume()).toBe(1);
      expect(await outbox.settled(row!.id)).toMatchObject({ state: 'sent', resultTs: posted[0]?.ts });
      expect(calls).toEqual(['history']);
      expect(posted).toHaveLength(1);
      expect(seen).toEqual([[3, posted[0]?.ts]]);
      await outbox.drain(100);
    });

    it('a job left in flight whose post never landed: looked up, then posted once', async () => {
      const { chat, posted, calls } = slackWithHistory();
      const row = store.outbox.add({ key: 'k', channel: 'C1', method: 'chat.postMessage', payload: { channel: 'C1', text: 'x' } }, Date.now());
      store.outbox.startAttempt(row!.id, 0);
      const outbox = new Outbox({ chat, store, logger, channelIntervalMs: 0 });
      outbox.resume();
      expect((await outbox.settled(row!.id)).state).toBe('sent');
      expect(calls).toEqual(['history', 'postMessage']);
      expect(posted).toHaveLength(1);
      await outbox.drain(100);
    });

    it('history refused (missing_scope): posts again, honestly counted as a possible duplicate', async () => {
      const { chat, posted, calls } = slackWithHistory(['accept-then-500'], { error: 'missing_scope' });
      const metrics = new Metrics();
      const outbox = new Outbox({ chat, store, logger, metrics, channelIntervalMs: 0 });
      const job = outbox.enqueue({ key: 'k', channel: 'C1', method: 'chat.postMessage', payload: { channel: 'C1', text: 'x' } });
      expect((await outbox.settled(job!.id)).state).toBe('sent');
      expect(calls).toEqual(['postMessage', 'history', 'postMessage']);
      expect(posted).toHaveLength(2);
      expect(await metrics.render()).toMatch(/pgbackup_slack_unverified_reposts_total\{reason="missing_scope"\} 1/);
      await outbox.drain(100);
    });

    it('a hung call times out, counts Slack as not answering, and is looked up before it is posted again', async () => {
      const { chat, posted, calls } = slackWithHistory(['hang']);
      const outbox = new Outbox({ chat, store, logger, channelIntervalMs: 0, callTimeoutMs: 50 });
      const job = outbox.enqueue({ key: 'k', channel: 'C1', method: 'chat.postMessage', payload: { channel: 'C1', text: 'x' } });
      const [first] = await Promise.all([new Promise<boolean>((resolve) => {
        // Sampled when the lookup runs: the timed-out write is the latest one.
        const history = chat.conversations!.history;
        chat.conversations!.history = (a) => {
          resolve(outbox.slackUnresponsive());
          return history(a);
        };
      }), outbox.settled(job!.id)]);
      expect(first).toBe(true);
      expect(calls).toEqual(['postMessage', 'history', 'postMessage']);
      expect(posted).toHaveLength(1);
      expect(outbox.slackUnresponsive()).toBe(false);
      await outbox.drain(100);
    });

    it('a retry wait holds no global slot: with 8 channels hung, a 9th channel is served', async () => {
      const { chat, posted } = slackWithHistory(Array.from({ length: 8 }, () => 'hang' as const));
      const outbox = new Outbox({ chat, store, logger, channelIntervalMs: 0, callTimeoutMs: 100 });
      for (let i = 1; i <= 8; i++) outbox.enqueue({ key: `h${i}`, channel: `C${i}`, method: 'chat.postMessage', payload: { channel: `C${i}`, text: `hung ${i}` } });
      const ninth = outbox.enqueue({ key: 'n', channel: 'C9', method: 'chat.postMessage', payload: { channel: 'C9', text: 'ninth' } });
      expect((await outbox.settled(ninth!.id)).state).toBe('sent');
      expect(posted.find((m) => m.channel === 'C9')?.text).toBe('ninth');
      await outbox.drain(100);
    });
  });
});
