import { createAccessControl, rulesOf } from '../access/access';
import { GroupResolver } from '../access/groups';
import { Writable } from 'node:stream';
import type { BackupManagerApi } from '../../ports/backup-manager/api';
import { NotFoundError } from '../../domain/manager-errors';
import { InstanceViewSchema, type RestoreResponse, type TriggerResponse } from '../../ports/backup-manager/schemas';
import { type InstanceView } from '../../domain/backups';
import { loadConfig, type Config } from '../../config';
import type { Deps } from '../deps';
import { Metrics } from '../../outbound/metrics';
import { createLogger } from '../../logger';
import type { SlackMessage } from '../../outbound/messages/blocks';
import { Outbox, type ChatApi } from '../../outbound/slack/outbox';
import { openStore, type RestoreRequest, type Store } from '../../ports/store';
import { InstanceReader } from '../../reader/instance-reader';
import { Poller } from '../tracking/poller';
import { approveRestore, expireDue, rejectRestore, withdrawRestore, type CardClick } from './decide';
import { requestRestore } from './request';

const T0 = Date.parse('2018-11-22T10:00:00.000Z');
const TTL = 3_600_000;

/** The seed's instance view: 148 is done; 149 and 150 were made after it; 151 failed. */
const SEED = {
  id: 38,
  instance_id: 'a9s-pg',
  guid: 'd1e2f3',
  backups: [
    { id: 150, backup_id: 'a9s-pg-1543000000000', instance_id: 38, size: 45000000, backup_agent_task: { task_id: 150, status: 'done', created_at: '2018-11-23T19:46:40.000Z' } },
    { id: 148, backup_id: 'a9s-pg-1542859215559', instance_id: 38, size: 44985152, backup_agent_task: { task_id: 148, status: 'done', created_at: '2018-11-22T04:00:15.718Z' } },
    { id: 151, backup_id: 'a9s-pg-1543100000000', instance_id: 38, size: null, backup_agent_task: { task_id: 151, status: 'failed', msg: 'disk full', created_at: '2018-11-24T23:33:20.000Z' } },
    { id: 149, backup_id: 'a9s-pg-1542900000000', instance_id: 38, size: 44990000, backup_agent_task: { task_id: 149, status: 'done', created_at: '2018-11-22T15:20:00.000Z' } },
  ],
  restores: [],
};

class StubApi implements BackupManagerApi {
  readonly restores: Array<[number, number]> = [];
  readonly reads: string[] = [];
  constructor(readonly views: Record<string, InstanceView>) {}
  async triggerBackup(): Promise<TriggerResponse> {
    throw new Error('not used here');
  }
  async getInstance(instanceGuid: string): Promise<InstanceView> {
    this.reads.push(instanceGuid);
    const v = this.views[instanceGuid];
    if (!v) throw new NotFoundError('404', 404, 'no such instance');
    return v;
  }
  async triggerRestore(backupId: number, instanceId: number): Promise<RestoreResponse> {
    this.restores.push([backupId, instanceId]);
    return { id: 1, message: null };
  }
  async close(): Promise<void> {}
}

interface ChatCall {
  method: 'chat.postMessage' | 'chat.update';
  args: Record<string, unknown>;
}

/** Records Slack writes and answers each with a new ts, as Slack does. */
function stubChat(): ChatApi & { calls: ChatCall[] } {
  const calls: ChatCall[] = [];
  let n = 0;
  return {
    calls,
    chat: {
      postMessage: async (args) => {
        calls.push({ method: 'chat.postMessage', args });
        return { ts: `1700000000.${String(++n).padStart(6, '0')}` };
      },
      update: async (args) => {
        calls.push({ method: 'chat.update', args });
        return { ts: String(args.ts) };
      },
    },
  };
}

interface World {
  deps: Deps;
  store: Store;
  chat: ReturnType<typeof stubChat>;
  api: StubApi;
  setNow(ms: number): void;
  started: RestoreRequest[];
  start: (req: RestoreRequest) => void;
  /** A click by `user` in C0OPS (on `card`'s card when given); ephemeral replies are kept in `replies`. */
  origin(user: string, card?: RestoreRequest): CardClick & { replies: SlackMessage[] };
  /** Resolves once every outbox job stored so far is sent (or given up). */
  settle(): Promise<void>;
}

function world(over: Partial<Config> = {}): World {
  const base = loadConfig({
    SLACK_BOT_TOKEN: 'xoxb-test',
    SLACK_SIGNING_SECRET: 'test-signing-secret',
    BACKUP_MANAGER_URL: 'http://bm:3000',
    BACKUP_MANAGER_PASSWORD: 'test-password',
    STATE_DB: ':memory:',
    NOTIFY_CHANNEL: 'C0AUDIT',
  });
  const config: Config = { ...base, ...over };
  let now = T0;
  const clock = () => now;
  const store = openStore(':memory:');
  const logger = createLogger({ level: 'silent', destination: new Writable({ write: (_c, _e, cb) => cb() }) });
  const chat = stubChat();
  const metrics = new Metrics();
  const outbox = new Outbox({ chat, store, logger, clock, metrics, channelIntervalMs: 0 });
  outbox.onRef('restore-card', (id, ts) => ts && store.restores.setCardTs(id, ts));
  const api = new StubApi({ 'a9s-pg': InstanceViewSchema.parse(SEED), pg1: InstanceViewSchema.parse({ ...SEED, id: 41, instance_id: 'pg1' }) });
  const reader = new InstanceReader({ api, logger, activeIntervalMs: 60_000, watchIntervalMs: 60_000, concurrency: 4, clock });
  const poller = new Poller({ reader, store, outbox, logger, clock, notifyChannel: config.notifyChannel });
  poller.start();
  const access = createAccessControl({ rules: () => rulesOf(config), groups: new GroupResolver(async () => [], clock, logger), audit: store.audit, clock, logger });
  const deps: Deps = { config, api, reader, store, outbox, poller, logger, metrics, clock, access, views: { open: async () => undefined } };
  const started: RestoreRequest[] = [];
  return {
    deps,
    store,
    chat,
    api,
    started,
    setNow: (ms) => {
      now = ms;
    },
    start: (req) => started.push(req),
    origin: (user, card) => {
      const replies: SlackMessage[] = [];
      return { user, channel: 'C0OPS', messageTs: card?.cardTs ?? undefined, replies, reply: async (m) => void replies.push(m) };
    },
    settle: async () => {
      await Promise.all(store.outbox.pending().map((j) => outbox.settled(j.id)));
    },
  };
}

/** Opens a request of backup 148 as U0ALICE and waits for its card; returns it with the card's ts. */
async function requested(w: World, instance = 'a9s-pg', reason = 'bad migration'): Promise<RestoreRequest> {
  const alice = w.origin('U0ALICE');
  await expect(requestRestore(w.deps, alice, { instance, backup: { kind: 'id', id: 148 }, reason })).resolves.toBe('pending');
  await w.settle();
  const req = w.store.restores.inState('pending').at(-1);
  if (!req) throw new Error('no pending request');
  expect(req.cardTs).not.toBeNull();
  return req;
}

const textOf = (m: SlackMessage | undefined): string => m?.text ?? '';

describe('restore requests and decisions', () => {
  let w: World;
  afterEach(async () => {
    await w.settle();
    await w.deps.outbox.drain(0);
    w.store.close();
  });

  describe('request', () => {
    beforeEach(() => {
      w = world();
    });

    it('stores a pending request and posts the approval card, plus the audit record', async () => {
      const req = await requested(w);
      expect(req).toMatchObject({
        state: 'pending',
        instance: 'a9s-pg',
        instanceNumericId: 38,
        backupId: 148,
        backupName: 'a9s-pg-1542859215559',
        backupSize: 44985152,
        requester: 'U0ALICE',
        reason: 'bad migration',
        approvalsNeeded: 1,
        expiresAt: T0 + TTL,
      });
      expect(req.newerBackups.map((b) => b.id)).toEqual([149, 150, 151]);
      const card = w.chat.calls.find((c) => c.args.channel === 'C0OPS' && c.method === 'chat.postMessage');
      expect(String(card?.args.text)).toContain('Restore of a9s-pg to backup 148 requested by U0ALICE: pending');
      expect(w.chat.calls.some((c) => c.args.channel === 'C0AUDIT')).toBe(true);
      expect(w.store.audit.latest().map((a) => a.action)).toContain('restore.pending');
    });

    it('records, per instance the bot knows, the backups made after the chosen a9s-pg backup', async () => {
      w = world({ allowedInstances: ['a9s-pg', 'pg1', 'pg-gone'], watchInstances: ['a9s-pg', 'pg-watched'] });
      // Tracked once, finished since: still an instance the bot knows.
      const t = w.store.tasks.track({ instance: 'pg-tracked', backupId: 1, channel: 'C0OPS', requester: 'U0ALICE', status: 'queued', at: T0 });
      w.store.tasks.transition(t.id, 'queued', { status: 'done', backupName: null, size: null, msg: null, at: T0, active: false });
      w.api.views['pg-tracked'] = InstanceViewSchema.parse({ ...SEED, id: 42, instance_id: 'pg-tracked', backups: [SEED.backups[1]] });
      w.api.views['pg-watched'] = InstanceViewSchema.parse({
        ...SEED,
        id: 43,
        instance_id: 'pg-watched',
        backups: [{ id: 152, backup_id: 'pg-watched-1', backup_agent_task: { status: 'deleted', created_at: '2018-11-25T00:00:00.000Z' } }],
      });
      const req = await requested(w);
      expect(req.laterBackups).toEqual([
        { instance: 'a9s-pg', known: true, later: req.newerBackups },
        { instance: 'pg-gone', known: false, error: 'the Backup Manager does not know it' },
        { instance: 'pg-tracked', known: true, later: [] },
        { instance: 'pg-watched', known: true, later: [] },
        { instance: 'pg1', known: true, later: req.newerBackups },
      ]);
      expect(req.newerBackups.map((b) => [b.id, b.status])).toEqual([
        [149, 'done'],
        [150, 'done'],
        [151, 'failed'],
      ]);
      expect(w.api.reads.filter((i) => i !== 'a9s-pg').sort()).toEqual(['pg-gone', 'pg-tracked', 'pg-watched', 'pg1']);
      const card = w.chat.calls.find((c) => c.args.channel === 'C0OPS' && c.method === 'chat.postMessage');
      const text = JSON.stringify(card?.args.blocks);
      expect(text).toContain('the backups of *other instances* made after this one are forgotten too');
      expect(text).toContain('`pg1`: 3 backups — 149 `a9s-pg-1542900000000`, 150 `a9s-pg-1543000000000`, 151 `a9s-pg-1543100000000` (failed)');
      expect(text).toContain('`pg-gone`: :warning: could not be read (the Backup Manager does not know it)');
      expect(text).toContain('`pg-tracked`, `pg-watched`: no backups were made after this one');
    });

    it('says plainly when no backup was made after the chosen one', async () => {
      w = world({ allowedInstances: ['a9s-pg', 'pg1'] });
      w.api.views.pg1 = InstanceViewSchema.parse({ ...SEED, id: 41, instance_id: 'pg1', backups: [SEED.backups[1]] });
      w.api.views['a9s-pg'] = InstanceViewSchema.parse({ ...SEED, backups: [SEED.backups[1]] });
      const req = await requested(w);
      const text = JSON.stringify(w.chat.calls.find((c) => c.args.ts === undefined && c.args.channel === 'C0OPS')?.args.blocks);
      expect(req.laterBackups.map((l) => (l.known ? l.later.length : -1))).toEqual([0, 0]);
      expect(text).toContain('No backups of `a9s-pg` were made after this one.');
      expect(text).toContain('`pg1`: no backups were made after this one');
      expect(text).not.toMatch(/The \*0 backups|: none/);
    });

    it('finds a backup by its name, and records no newer backups for a service instance', async () => {
      const alice = w.origin('U0ALICE');
      await expect(requestRestore(w.deps, alice, { instance: 'pg1', backup: { kind: 'name', name: 'a9s-pg-1542859215559' }, reason: '' })).resolves.toBe('pending');
      expect(w.store.restores.inState('pending')[0]).toMatchObject({ instance: 'pg1', instanceNumericId: 41, backupId: 148, newerBackups: [] });
    });

    it.each([
      ['a backup that does not exist', 999, /There is no backup `999` of `a9s-pg`/],
      ['a backup that is not done', 151, /Backup 151 of `a9s-pg` is \*failed\*; only a backup that is done can be restored/],
    ])('refuses %s and stores nothing', async (_what, id, why) => {
      const alice = w.origin('U0ALICE');
      await expect(requestRestore(w.deps, alice, { instance: 'a9s-pg', backup: { kind: 'id', id }, reason: '' })).resolves.toBe('refused');
      expect(textOf(alice.replies[0])).toMatch(why);
      expect(w.store.restores.pendingCount()).toBe(0);
      expect(w.chat.calls).toEqual([]);
    });

    it('names the manager error when the instance is unknown', async () => {
      const alice = w.origin('U0ALICE');
      await expect(requestRestore(w.deps, alice, { instance: 'pg9', backup: { kind: 'id', id: 1 }, reason: '' })).resolves.toBe('error');
      expect(textOf(alice.replies[0])).toMatch(/No instance `pg9`/);
    });
  });

  describe('approve', () => {
    it('refuses self-approval and leaves the request unchanged', async () => {
      w = world();
      const req = await requested(w);
      const calls = w.chat.calls.length;
      const alice = w.origin('U0ALICE', req);
      await expect(approveRestore(w.deps, alice, req.id, w.start)).resolves.toBe('self-approval');
      expect(textOf(alice.replies[0])).toMatch(/You requested this restore, so you can not approve it/);
      expect(w.store.restores.get(req.id)).toEqual(req);
      expect(w.started).toEqual([]);
      await w.settle();
      expect(w.chat.calls).toHaveLength(calls);
    });

    it('lets anyone else approve when RESTORE_APPROVERS is empty, and starts the restore once', async () => {
      w = world();
      const req = await requested(w);
      const bob = w.origin('U0BOB', req);
      await expect(approveRestore(w.deps, bob, req.id, w.start)).resolves.toBe('approved');
      expect(w.started.map((r) => [r.id, r.state, r.decidedBy])).toEqual([[req.id, 'approved', 'U0BOB']]);
      await expect(approveRestore(w.deps, w.origin('U0CAROL', req), req.id, w.start)).resolves.toBe('decided');
      await expect(approveRestore(w.deps, bob, req.id, w.start)).resolves.toBe('decided');
      expect(w.started).toHaveLength(1);
      await w.settle();
      const update = w.chat.calls.filter((c) => c.method === 'chat.update' && c.args.ts === req.cardTs).at(-1);
      expect(String(update?.args.text)).toMatch(/: approved$/);
    });

    it('enforces RESTORE_APPROVERS', async () => {
      w = world({ restoreApprovers: ['U0CAROL'] });
      const req = await requested(w);
      const bob = w.origin('U0BOB', req);
      await expect(approveRestore(w.deps, bob, req.id, w.start)).resolves.toBe('not-an-approver');
      expect(textOf(bob.replies[0])).toMatch(/RESTORE_APPROVERS/);
      expect(w.store.restores.get(req.id)).toMatchObject({ state: 'pending', approvals: [] });
      expect(w.started).toEqual([]);
      await expect(approveRestore(w.deps, w.origin('U0CAROL', req), req.id, w.start)).resolves.toBe('approved');
      expect(w.started).toHaveLength(1);
    });

    it('refuses the requester even when listed in RESTORE_APPROVERS', async () => {
      w = world({ restoreApprovers: ['U0ALICE', 'U0BOB'] });
      const req = await requested(w);
      await expect(approveRestore(w.deps, w.origin('U0ALICE', req), req.id, w.start)).resolves.toBe('self-approval');
      expect(w.store.restores.get(req.id)?.state).toBe('pending');
    });

    it('needs two distinct approvers when RESTORE_APPROVALS is 2', async () => {
      w = world({ restoreApprovals: 2 });
      const req = await requested(w);
      expect(req.approvalsNeeded).toBe(2);
      const bob = w.origin('U0BOB', req);
      await expect(approveRestore(w.deps, bob, req.id, w.start)).resolves.toBe('approval-recorded');
      expect(textOf(bob.replies[0])).toMatch(/Approval recorded; 1 more needed/);
      expect(w.store.restores.get(req.id)).toMatchObject({ state: 'pending', approvals: [{ userId: 'U0BOB', at: T0 }] });
      await expect(approveRestore(w.deps, bob, req.id, w.start)).resolves.toBe('already-approved');
      expect(w.started).toEqual([]);
      await expect(approveRestore(w.deps, w.origin('U0CAROL', req), req.id, w.start)).resolves.toBe('approved');
      expect(w.started).toHaveLength(1);
      expect(w.store.restores.get(req.id)).toMatchObject({ state: 'approved', decidedBy: 'U0CAROL' });
      expect(w.store.restores.get(req.id)?.approvals.map((a) => a.userId).sort()).toEqual(['U0BOB', 'U0CAROL']);
    });

    it('starts exactly one restore when approvals race', async () => {
      w = world({ restoreApprovals: 2 });
      const req = await requested(w);
      const outcomes = await Promise.all(['U0BOB', 'U0CAROL', 'U0DAVE', 'U0BOB', 'U0CAROL'].map((u) => approveRestore(w.deps, w.origin(u, req), req.id, w.start)));
      expect(outcomes.filter((o) => o === 'approved')).toHaveLength(1);
      expect(w.started).toHaveLength(1);
    });

    it('refuses approval once the request has expired, and marks it expired', async () => {
      w = world();
      const req = await requested(w);
      w.setNow(req.expiresAt);
      const bob = w.origin('U0BOB', req);
      await expect(approveRestore(w.deps, bob, req.id, w.start)).resolves.toBe('expired');
      expect(textOf(bob.replies[0])).toMatch(/has expired; nothing changed/);
      expect(w.store.restores.get(req.id)).toMatchObject({ state: 'expired', approvals: [] });
      expect(w.started).toEqual([]);
      await expect(approveRestore(w.deps, w.origin('U0CAROL', req), req.id, w.start)).resolves.toBe('expired');
      await expect(rejectRestore(w.deps, w.origin('U0CAROL', req), req.id)).resolves.toBe('expired');
      await w.settle();
      const update = w.chat.calls.filter((c) => c.method === 'chat.update' && c.args.ts === req.cardTs).at(-1);
      expect(String(update?.args.text)).toMatch(/: expired$/);
    });

    it('still accepts approval just before the deadline', async () => {
      w = world();
      const req = await requested(w);
      w.setNow(req.expiresAt - 1);
      await expect(approveRestore(w.deps, w.origin('U0BOB', req), req.id, w.start)).resolves.toBe('approved');
    });

    it('refuses a second restore of an instance while one holds it', async () => {
      w = world();
      const first = await requested(w);
      const second = await requested(w, 'a9s-pg', 'again');
      await expect(approveRestore(w.deps, w.origin('U0BOB', first), first.id, w.start)).resolves.toBe('approved');
      const carol = w.origin('U0CAROL', second);
      await expect(approveRestore(w.deps, carol, second.id, w.start)).resolves.toBe('locked');
      expect(textOf(carol.replies[0])).toMatch(/already in progress/);
      expect(w.store.restores.get(second.id)?.state).toBe('pending');
      expect(w.started).toHaveLength(1);
      const dave = w.origin('U0DAVE');
      await expect(requestRestore(w.deps, dave, { instance: 'a9s-pg', backup: { kind: 'id', id: 148 }, reason: '' })).resolves.toBe('refused');
      expect(textOf(dave.replies[0])).toMatch(new RegExp(`already in progress \\(request #${first.id}\\)`));
    });

    it('answers a click on an unknown request', async () => {
      w = world();
      const bob = w.origin('U0BOB');
      await expect(approveRestore(w.deps, bob, 404, w.start)).resolves.toBe('unknown');
      expect(textOf(bob.replies[0])).toMatch(/do not know this restore request/);
    });
  });

  describe('the clicked card', () => {
    beforeEach(() => {
      w = world();
    });

    /** Request B in another channel, and card A of a request in C0OPS. */
    async function twoCards(): Promise<{ a: RestoreRequest; b: RestoreRequest }> {
      const a = await requested(w);
      const alice = { ...w.origin('U0ALICE'), channel: 'C0OTHER' };
      await expect(requestRestore(w.deps, alice, { instance: 'pg1', backup: { kind: 'id', id: 148 }, reason: 'other' })).resolves.toBe('pending');
      await w.settle();
      const b = w.store.restores.inState('pending').find((r) => r.channel === 'C0OTHER');
      if (!b?.cardTs) throw new Error('no card for request B');
      return { a, b };
    }

    it.each([
      ['approve', (c: CardClick, id: number) => approveRestore(w.deps, c, id, w.start)],
      ['reject', (c: CardClick, id: number) => rejectRestore(w.deps, c, id)],
      ['withdraw', (c: CardClick, id: number) => withdrawRestore(w.deps, c, id)],
    ])('refuses to %s request B from card A: private refusal, audit record, nothing changed', async (_what, act) => {
      const { a, b } = await twoCards();
      await w.settle();
      const calls = w.chat.calls.length;
      const user = _what === 'withdraw' ? 'U0ALICE' : 'U0BOB';
      const click = w.origin(user, a);
      await expect(act(click, b.id)).resolves.toBe('wrong-card');
      expect(textOf(click.replies[0])).toMatch(new RegExp(`does not belong to the card of restore request #${b.id}; nothing changed`));
      expect(w.store.restores.get(b.id)).toEqual(b);
      expect(w.store.restores.get(a.id)).toEqual(a);
      expect(w.started).toEqual([]);
      const refused = w.store.audit.latest().find((e) => e.action === 'restore.click-refused');
      expect(refused).toMatchObject({ actor: user, requestId: b.id, instance: 'pg1' });
      expect(refused?.details).toMatchObject({ clickedChannel: 'C0OPS', clickedTs: a.cardTs, cardChannel: 'C0OTHER', cardTs: b.cardTs });
      await w.settle();
      expect(w.chat.calls).toHaveLength(calls);
    });

    it("refuses a click in the request's channel on another message", async () => {
      const req = await requested(w);
      const bob = { ...w.origin('U0BOB', req), messageTs: '1700000000.999999' };
      await expect(approveRestore(w.deps, bob, req.id, w.start)).resolves.toBe('wrong-card');
      const elsewhere = { ...w.origin('U0BOB', req), channel: 'C0OTHER' };
      await expect(approveRestore(w.deps, elsewhere, req.id, w.start)).resolves.toBe('wrong-card');
      const noTs = { ...w.origin('U0BOB', req), messageTs: undefined };
      await expect(approveRestore(w.deps, noTs, req.id, w.start)).resolves.toBe('wrong-card');
      expect(w.store.restores.get(req.id)).toMatchObject({ state: 'pending', approvals: [] });
      await expect(approveRestore(w.deps, w.origin('U0BOB', req), req.id, w.start)).resolves.toBe('approved');
      expect(w.started).toHaveLength(1);
    });

    it('takes no decision while the card has not been posted (its ts unknown)', async () => {
      const req = w.store.restores.create({
        instance: 'pg1',
        instanceNumericId: 41,
        backupId: 148,
        backupName: null,
        backupSize: null,
        backupCreatedAt: null,
        newerBackups: [],
        requester: 'U0ALICE',
        reason: '',
        channel: 'C0OPS',
        approvalsNeeded: 1,
        createdAt: T0,
        expiresAt: T0 + TTL,
      });
      const bob = w.origin('U0BOB', req);
      expect(bob.messageTs).toBeUndefined();
      await expect(approveRestore(w.deps, bob, req.id, w.start)).resolves.toBe('card-not-posted');
      await expect(rejectRestore(w.deps, bob, req.id)).resolves.toBe('card-not-posted');
      expect(textOf(bob.replies[0])).toMatch(/still being posted; nothing changed/);
      expect(w.store.restores.get(req.id)).toEqual(req);
      expect(w.started).toEqual([]);
    });
  });

  describe('reject and withdraw', () => {
    beforeEach(() => {
      w = world();
    });

    it('reject by someone else ends the request', async () => {
      const req = await requested(w);
      await expect(rejectRestore(w.deps, w.origin('U0BOB', req), req.id)).resolves.toBe('rejected');
      expect(w.store.restores.get(req.id)).toMatchObject({ state: 'rejected', decidedBy: 'U0BOB', decidedAt: T0 });
      const carol = w.origin('U0CAROL', req);
      await expect(approveRestore(w.deps, carol, req.id, w.start)).resolves.toBe('decided');
      expect(textOf(carol.replies[0])).toMatch(/already decided; nothing changed/);
      expect(w.started).toEqual([]);
    });

    it('reject by the requester is a withdrawal', async () => {
      const req = await requested(w);
      await expect(rejectRestore(w.deps, w.origin('U0ALICE', req), req.id)).resolves.toBe('withdrawn');
      expect(w.store.restores.get(req.id)).toMatchObject({ state: 'withdrawn', decidedBy: 'U0ALICE' });
    });

    it('withdraw is for the requester only', async () => {
      const req = await requested(w);
      const bob = w.origin('U0BOB', req);
      await expect(withdrawRestore(w.deps, bob, req.id)).resolves.toBe('not-requester');
      expect(textOf(bob.replies[0])).toMatch(/Only the requester can withdraw/);
      expect(w.store.restores.get(req.id)?.state).toBe('pending');
      await expect(withdrawRestore(w.deps, w.origin('U0ALICE', req), req.id)).resolves.toBe('withdrawn');
      await expect(withdrawRestore(w.deps, w.origin('U0ALICE', req), req.id)).resolves.toBe('decided');
    });

    it('tells the requester in the thread and updates the card', async () => {
      const req = await requested(w);
      await rejectRestore(w.deps, w.origin('U0BOB', req), req.id);
      await w.settle();
      const inThread = w.chat.calls.filter((c) => c.args.thread_ts === req.cardTs).map((c) => String(c.args.text));
      expect(inThread).toEqual([`Restore request #${req.id} of a9s-pg: rejected`]);
      const audit = w.chat.calls.filter((c) => c.args.channel === 'C0AUDIT').map((c) => String(c.args.text));
      expect(audit.at(-1)).toMatch(/: rejected$/);
      expect(w.store.audit.latest().map((a) => a.action)).toEqual(expect.arrayContaining(['restore.pending', 'restore.rejected']));
    });
  });

  describe('expireDue', () => {
    it('expires overdue pending requests only, once', async () => {
      w = world();
      const old = await requested(w);
      w.setNow(T0 + 1000);
      const fresh = await requested(w, 'pg1');
      w.setNow(old.expiresAt);
      expect(expireDue(w.deps)).toBe(1);
      expect(expireDue(w.deps)).toBe(0);
      expect(w.store.restores.get(old.id)?.state).toBe('expired');
      expect(w.store.restores.get(fresh.id)?.state).toBe('pending');
      await expect(approveRestore(w.deps, w.origin('U0BOB', fresh), fresh.id, w.start)).resolves.toBe('approved');
    });
  });
});
