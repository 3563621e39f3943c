import type { RestoreRequest } from '../../domain/restore-request';
import type { NewOutboxJob, OutboxJob } from '../../ports/store';
import { FollowupMessage, type FollowupPorts } from './followup-message';

const T0 = Date.parse('2026-03-01T12:00:00Z');
const INTERVAL = 2000;

function request(followupTs: string | null): RestoreRequest {
  return {
    id: 7,
    instance: 'pg-orders',
    instanceNumericId: 38,
    backupId: 148,
    backupName: null,
    backupSize: null,
    backupCreatedAt: null,
    newerBackups: [],
    laterBackups: [],
    requester: 'U0ALICE',
    reason: 'bad migration',
    channel: 'C0OPS',
    cardTs: '1700000000.000200',
    followupTs,
    state: 'running',
    approvalsNeeded: 1,
    approvals: [],
    rejectionsNeeded: 1,
    rejections: [],
    createdAt: T0,
    expiresAt: T0 + 3_600_000,
    decidedBy: 'U0BOB',
    decidedAt: T0,
    startedAt: T0,
    managerRestoreId: 13,
    postConfirmed: true,
    postClaimedAt: null,
    finishedAt: null,
    outcome: null,
  };
}

/** Ports over a request the test edits, and an outbox that records what is enqueued. */
function harness(followupTs: string | null) {
  const state = { req: request(followupTs), post: undefined as OutboxJob | undefined, lines: ['restore step 1'] };
  const jobs: NewOutboxJob[] = [];
  let settlePost: (job: OutboxJob) => void = () => undefined;
  const ports: FollowupPorts = {
    store: { restores: { get: () => state.req }, outbox: { byKey: (key) => (key === 'restore:7:followup' ? state.post : undefined) } },
    outbox: {
      enqueue: (job) => {
        jobs.push(job);
        return undefined;
      },
      settled: () => new Promise<OutboxJob>((resolve) => (settlePost = resolve)),
    },
    clock: () => Date.now(),
  };
  const message = new FollowupMessage(ports, state.req, { lines: () => state.lines, reason: () => undefined, source: '/var/log/agent.log' }, INTERVAL, 'following');
  const edits = () => jobs.filter((j) => j.method === 'chat.update');
  return { state, jobs, edits, message, settle: (job: OutboxJob) => settlePost(job) };
}

const text = (job: NewOutboxJob | undefined) => JSON.stringify(job?.payload ?? null);

beforeEach(() => jest.useFakeTimers({ now: T0 }));
afterEach(() => jest.useRealTimers());

describe('FollowupMessage', () => {
  it('posts once in the thread, with the key and ref the outbox stores its ts by', () => {
    const { message, jobs, state } = harness(null);
    message.post(state.req);
    expect(jobs).toEqual([expect.objectContaining({ key: 'restore:7:followup', method: 'chat.postMessage', ref: 'restore-followup:7' })]);
    expect(jobs[0]?.payload).toMatchObject({ channel: 'C0OPS', thread_ts: '1700000000.000200' });
  });

  it('edits at most once per interval, showing the latest lines', () => {
    const { message, edits, state } = harness('1700000000.000300');
    message.update();
    jest.advanceTimersByTime(0);
    expect(edits().map((j) => j.key)).toEqual([`restore:7:followup:edit:${T0}-1`]);
    state.lines = ['restore step 1', 'restore step 2'];
    message.update();
    message.update();
    jest.advanceTimersByTime(INTERVAL - 1);
    expect(edits()).toHaveLength(1);
    jest.advanceTimersByTime(1);
    expect(edits().map((j) => j.key)).toEqual([`restore:7:followup:edit:${T0}-1`, `restore:7:followup:edit:${T0 + INTERVAL}-2`]);
    expect(text(edits()[1])).toContain('restore step 2');
  });

  it('without a ts yet, tries the edit again after an interval', () => {
    const { message, edits, state } = harness(null);
    message.update();
    jest.advanceTimersByTime(0);
    expect(edits()).toHaveLength(0);
    state.req = { ...state.req, followupTs: '1700000000.000300' };
    jest.advanceTimersByTime(INTERVAL);
    expect(edits()).toEqual([expect.objectContaining({ payload: expect.objectContaining({ ts: '1700000000.000300' }) })]);
  });

  it('defers the final edit until the queued post has its ts, and edits nothing after it', async () => {
    const { message, edits, state, settle } = harness(null);
    message.update();
    state.post = { id: 41, key: 'restore:7:followup', channel: 'C0OPS', method: 'chat.postMessage', payload: {}, ref: null, priority: 5, state: 'pending', attempts: 0, resultTs: null, error: null, inFlight: false, attemptEpoch: null, createdAt: T0 };
    message.finish('success');
    message.update('source-ended');
    jest.advanceTimersByTime(10 * INTERVAL);
    expect(edits()).toHaveLength(0);
    state.req = { ...state.req, followupTs: '1700000000.000300' };
    settle({ ...state.post, state: 'sent', resultTs: '1700000000.000300' });
    await jest.runAllTimersAsync();
    expect(edits().map((j) => j.key)).toEqual(['restore:7:followup:edit:final']);
    expect(text(edits()[0])).toContain('reports *success*');
  });

  it('after close, edits nothing', () => {
    const { message, edits } = harness('1700000000.000300');
    message.update();
    message.close();
    message.update('failure');
    jest.advanceTimersByTime(10 * INTERVAL);
    expect(edits()).toHaveLength(0);
  });
});
