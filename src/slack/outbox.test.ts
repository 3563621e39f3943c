import pino from 'pino';
import { openStore, type Store } from '../store';
import { Outbox, type ChatApi } from './outbox';

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
});
