import { allTexts, assertBlockKitLimits } from '../../../test/helpers/block-kit';
import {
  BadResponseError,
  type BackupManagerErrorKind,
  ConflictError,
  CredentialsRejectedError,
  DeadlineError,
  NotFoundError,
  RejectedError,
  UnavailableError,
} from '../../domain/manager-errors';
import { InstanceViewSchema } from '../../ports/backup-manager/schemas';
import { type Backup, type InstanceView, type TaskStatus } from '../../domain/backups';
import type { NewerBackup, RestoreRequest, RestoreState } from '../../domain/restore-request';
import type { TrackedTask } from '../../domain/tracked-task';
import { LIST_LIMIT, RESTORE_OPEN_ACTION, renderBackupList, restoreButtonValue } from './backup-list';
import { renderBackupParent, renderTransitionReply } from './backup-task';
import { actions, button, context, fields, header, message, section, type Block, type SlackMessage } from './blocks';
import { managerErrorSentence, renderManagerError } from './errors';
import { age, code, escapeMrkdwn, humanDuration, humanSize, isoTime, LIMITS, statusLabel, truncate, user } from './format';
import { renderHelp, renderNotice, renderUsageError, usageText } from './help';
import { a9sPgWarnings, APPROVE_ACTION, newerBackupsList, REJECT_ACTION, renderRestoreAudit, renderRestoreCard, renderRestoreOutcome, WITHDRAW_ACTION } from './restore-card';
import type { ForgottenOf } from '../../domain/later-backups';
import { AGENT_LOG_PATH } from '../../domain/constants';
import { renderLogFollowup, renderRestoreSummary, type FollowupState } from './restore-progress';
import { renderFailureNotice, renderOutageNotice, renderRecoveryNotice } from './watch';

// ---------------------------------------------------------------------------------------------
// Fixtures: the seed's shapes, and inputs far beyond what Slack accepts.

const NOW = Date.parse('2018-11-22T10:00:00.000Z');
const T0 = Date.parse('2018-11-22T04:00:15.718Z');

/** Slack control sequences a hostile or careless string may carry; none may reach Slack raw. */
const HOSTILE = '<!channel> <!here> <@U0EVE> <#C0OPS> <https://evil.example|click> & `tick` ```fence``` *bold*';
const RAW_CONTROL = ['<!channel>', '<!here>', '<@U0EVE>', '<#C0OPS>', '<https://evil.example'];

/** 10,000 characters: the hostile text, then emoji whose halves a careless cut would split. */
const LONG_MSG = `pg_dump failed: ${HOSTILE} ${'😀'.repeat(5000)}`.slice(0, 10_000);
const LONG_REASON = `${HOSTILE} ${'reason '.repeat(800)}`.slice(0, 5000);
const LONG_INSTANCE = `pg-${'i'.repeat(497)}`;
const LONG_NAME = `${LONG_INSTANCE}-1542859215559`;

function taskJson(id: number, status: string, createdAt: string, msg: string | null = null) {
  return { id: id + 8, task_id: id, status, msg, created_at: createdAt, updated_at: createdAt };
}

function backupJson(id: number, status: string, createdAt: string, over: Record<string, unknown> = {}) {
  return {
    id,
    backup_id: `a9s-pg-${Date.parse(createdAt)}`,
    instance_id: 38,
    size: status === 'done' ? 44985152 : null,
    is_downloadable: false,
    backup_agent_task: taskJson(id, status, createdAt, status === 'failed' ? 'pg_dump: connection refused' : null),
    ...over,
  };
}

function view(instance: string, backups: unknown[]): InstanceView {
  return InstanceViewSchema.parse({ id: 38, instance_id: instance, guid: 'd1e2f3', backups, restores: [] });
}

/** `n` backups, one per hour before NOW, every status in turn, oldest first. */
function manyBackups(n: number, longMsg = false): unknown[] {
  const statuses = ['done', 'failed', 'running', 'queued', 'deleted', 'weird'];
  return Array.from({ length: n }, (_, i) => {
    const status = statuses[i % statuses.length] as string;
    const created = new Date(NOW - (n - i) * 3_600_000).toISOString();
    const b = backupJson(100 + i, status, created);
    if (status === 'failed' && longMsg) b.backup_agent_task.msg = LONG_MSG;
    return b;
  });
}

function backup(id: number, status: string, over: Record<string, unknown> = {}): Backup {
  return view('a9s-pg', [backupJson(id, status, '2018-11-22T04:00:15.718Z', over)]).backups[0] as Backup;
}

function task(over: Partial<TrackedTask> = {}): TrackedTask {
  return {
    id: 1,
    instance: 'a9s-pg',
    backupId: 148,
    channel: 'C0OPS',
    parentTs: '1700000000.000100',
    requester: 'U0ALICE',
    status: 'queued',
    backupName: null,
    size: null,
    msg: null,
    createdAt: T0,
    statusAt: T0,
    finishedAt: null,
    active: true,
    ...over,
  };
}

function newer(n: number, name: (i: number) => string = (i) => `a9s-pg-${1542859215559 + i * 86_400_000}`): NewerBackup[] {
  return Array.from({ length: n }, (_, i) => ({ id: 149 + i, backupName: name(i), createdAt: new Date(T0 + (i + 1) * 86_400_000).toISOString() }));
}

function restoreReq(over: Partial<RestoreRequest> = {}): RestoreRequest {
  return {
    id: 7,
    instance: 'a9s-pg',
    instanceNumericId: 38,
    backupId: 148,
    backupName: 'a9s-pg-1542859215559',
    backupSize: 44985152,
    backupCreatedAt: '2018-11-22T04:00:15.718Z',
    newerBackups: newer(2),
    laterBackups: [],
    requester: 'U0ALICE',
    reason: 'bad migration',
    channel: 'C0OPS',
    cardTs: '1700000000.000200',
    followupTs: null,
    state: 'pending',
    approvalsNeeded: 1,
    approvals: [],
    rejectionsNeeded: 1,
    rejections: [],
    createdAt: NOW - 60_000,
    expiresAt: NOW + 3_540_000,
    decidedBy: null,
    decidedAt: null,
    startedAt: null,
    managerRestoreId: null,
    postConfirmed: false,
    postClaimedAt: null,
    finishedAt: null,
    outcome: null,
    ...over,
  };
}

const ALL_RESTORE_STATES: RestoreState[] = ['pending', 'approved', 'running', 'succeeded', 'failed', 'rejected', 'withdrawn', 'expired', 'not_started', 'unknown'];
const ALL_TASK_STATUSES: TaskStatus[] = ['queued', 'running', 'done', 'failed', 'deleted', 'unknown'];
const ALL_FOLLOWUP_STATES: FollowupState[] = ['following', 'success', 'failure', 'timeout', 'unconfigured', 'source-ended', 'not-started'];

const LOG_LINES = Array.from({ length: 1000 }, (_, i) => `${String(i).padStart(4, '0')} ${'I, [2018-11-22T04:00:15] INFO -- restore step '.padEnd(495, '.')}`);

function decided(state: RestoreState, over: Partial<RestoreRequest> = {}): RestoreRequest {
  const at = NOW - 30_000;
  return restoreReq({
    state,
    approvals: state === 'pending' || state === 'rejected' || state === 'withdrawn' || state === 'expired' ? [] : [{ userId: 'U0BOB', at }],
    decidedBy: state === 'pending' || state === 'expired' ? null : state === 'withdrawn' ? 'U0ALICE' : 'U0BOB',
    decidedAt: state === 'pending' ? null : at,
    startedAt: ['running', 'succeeded', 'failed'].includes(state) ? at : null,
    finishedAt: state === 'succeeded' || state === 'failed' ? NOW : null,
    outcome: state === 'failed' ? 'ERROR -- pg_restore: could not connect' : state === 'succeeded' ? 'success' : null,
    ...over,
  });
}

/** Every renderer, fed ordinary inputs and inputs far too long for Slack. */
function everyMessage(): Array<[string, SlackMessage]> {
  const err = (e: unknown) => renderManagerError(e, LONG_INSTANCE, `list the backups of ${code(LONG_INSTANCE)}`);
  const longReq = (state: RestoreState) =>
    decided(state, {
      instance: LONG_INSTANCE,
      backupName: LONG_NAME,
      reason: LONG_REASON,
      requester: `not-an-id-${HOSTILE}`,
      outcome: state === 'failed' ? LONG_MSG : null,
      approvalsNeeded: 40,
      approvals: Array.from({ length: state === 'pending' ? 39 : 40 }, (_, i) => ({ userId: `U0APPROVER${i}`, at: NOW - i })),
    });
  const pgLong = (state: RestoreState) => decided(state, { reason: LONG_REASON, newerBackups: newer(300, (i) => `${LONG_INSTANCE}-${1542859215559 + i}`) });
  const manyInstances = (state: RestoreState) =>
    decided(state, {
      laterBackups: [
        { instance: 'a9s-pg', known: true, later: newer(300, (i) => `${LONG_INSTANCE}-${i}`) },
        { instance: LONG_INSTANCE, known: false, error: LONG_MSG },
        ...Array.from({ length: 60 }, (_, i) => ({ instance: `${LONG_INSTANCE.slice(0, 90)}${i}`, known: true as const, later: newer(40, () => LONG_NAME) })),
      ],
    });
  const forgottenMany: ForgottenOf[] = [
    { instance: 'a9s-pg', comparable: true, forgotten: newer(300, () => LONG_NAME), stillListed: newer(30) },
    { instance: LONG_INSTANCE, comparable: false, why: LONG_MSG },
    ...Array.from({ length: 60 }, (_, i): ForgottenOf => ({ instance: `${LONG_INSTANCE.slice(0, 90)}${i}`, comparable: true, forgotten: newer(40, () => LONG_NAME), stillListed: [] })),
  ];
  const cases: Array<[string, SlackMessage]> = [
    ['restore card, a9s-pg, 60 instances with later backups', renderRestoreCard(manyInstances('pending'), NOW)],
    ['restore summary, a9s-pg, 60 instances compared', renderRestoreSummary(manyInstances('succeeded'), 'succeeded', LONG_MSG, NOW, forgottenMany)],
    ['help', renderHelp('a9s-pg')],
    ['help, long default instance', renderHelp(LONG_INSTANCE)],
    ['usage error', renderUsageError('Unknown subcommand "x".', 'a9s-pg')],
    ['usage error, long problem', renderUsageError('p'.repeat(5000), LONG_INSTANCE)],
    ['notice', renderNotice(':lock: A restore of `a9s-pg` is already in progress.')],
    ['notice, long', renderNotice('n'.repeat(10_000))],
    ['manager error: credentials', err(new CredentialsRejectedError('401', 401, undefined))],
    ['manager error: not found, long description', err(new NotFoundError('404', 404, LONG_MSG))],
    ['manager error: conflict', err(new ConflictError('409', 409, HOSTILE))],
    ['manager error: unavailable', err(new UnavailableError('down', undefined, undefined, 'ECONNREFUSED'))],
    ['manager error: bad response', err(new BadResponseError('html', 500, undefined, '<html>'))],
    ['manager error: rejected', err(new RejectedError('422', 422, LONG_MSG))],
    ['manager error: not a manager error', err(new Error(`boom at ${LONG_MSG}`))],
    ['backup list, empty', renderBackupList(view('a9s-pg', []), NOW)],
    ['backup list, 200 backups', renderBackupList(view('a9s-pg', manyBackups(200, true)), NOW)],
    ['backup list, 200 backups, long instance, locked', renderBackupList(view(LONG_INSTANCE, manyBackups(200, true)), NOW, { restoreLocked: true })],
    ['backup list, long names', renderBackupList(view(LONG_INSTANCE, manyBackups(12).map((b) => ({ ...(b as object), backup_id: LONG_NAME }))), NOW)],
    ['outage notice', renderOutageNotice(LONG_INSTANCE, NOW - 200_000, NOW)],
    ['recovery notice', renderRecoveryNotice(LONG_INSTANCE, NOW - 200_000, NOW)],
    ['failure notice', renderFailureNotice('a9s-pg', backup(150, 'failed'), NOW)],
    ['failure notice, long msg', renderFailureNotice(LONG_INSTANCE, backup(150, 'failed', { backup_id: LONG_NAME, backup_agent_task: taskJson(150, 'failed', '2018-11-22T04:00:15.718Z', LONG_MSG) }), NOW)],
    ['failure notice, no msg, no task', renderFailureNotice('a9s-pg', backup(150, 'failed', { backup_agent_task: null }), NOW)],
    ['log follow-up, 1000 long lines', renderLogFollowup(restoreReq(), { state: 'following', lines: LOG_LINES, source: '/var/vcap/sys/log/backup-agent/production.log' })],
    ['log follow-up, no lines yet', renderLogFollowup(restoreReq(), { state: 'following', lines: [], source: null })],
    ['restore summary, a9s-pg, 300 newer', renderRestoreSummary(pgLong('succeeded'), 'succeeded', LONG_MSG, NOW)],
    ['restore summary, long instance, failed', renderRestoreSummary(longReq('failed'), 'failed', LONG_MSG, NOW)],
    ['restore summary, no detail, not started', renderRestoreSummary(restoreReq({ startedAt: null }), 'failed', '', NOW)],
  ];
  for (const status of ALL_TASK_STATUSES) {
    const t = task({ status, backupName: status === 'done' ? 'a9s-pg-1542859215559' : null, size: 44985152, finishedAt: ['done', 'failed', 'deleted'].includes(status) ? T0 + 73_135 : null, msg: status === 'failed' ? 'disk full' : null });
    const long = task({ status, instance: LONG_INSTANCE, backupName: LONG_NAME, requester: `x${HOSTILE}`, msg: status === 'failed' ? LONG_MSG : null, size: 1e15 });
    cases.push(
      [`backup parent, ${status}`, renderBackupParent(t)],
      [`backup parent, ${status}, long`, renderBackupParent(long)],
      [`transition reply, ${status}`, renderTransitionReply(t, status, status === 'unknown' ? 'paused' : undefined)],
      [`transition reply, ${status}, long`, renderTransitionReply(long, status, status === 'unknown' ? 'r'.repeat(5000) : undefined)],
    );
  }
  for (const state of ALL_RESTORE_STATES) {
    cases.push(
      [`restore card, ${state}`, renderRestoreCard(decided(state), NOW)],
      [`restore card, ${state}, a9s-pg with 300 newer backups`, renderRestoreCard(pgLong(state), NOW)],
      [`restore card, ${state}, long everything`, renderRestoreCard(longReq(state), NOW)],
      [`restore outcome, ${state}`, renderRestoreOutcome(decided(state))],
      [`restore outcome, ${state}, long`, renderRestoreOutcome(longReq(state))],
      [`restore audit, ${state}`, renderRestoreAudit(decided(state))],
      [`restore audit, ${state}, long`, renderRestoreAudit(longReq(state))],
    );
  }
  for (const state of ALL_FOLLOWUP_STATES) {
    cases.push([
      `log follow-up, ${state}, long`,
      renderLogFollowup(longReq('running'), { state, lines: [...LOG_LINES, `ERROR ${HOSTILE}`], source: `bosh ssh ${'x'.repeat(5000)}`, reason: LONG_MSG }),
    ]);
  }
  return cases;
}

/** The mrkdwn Slack parses: the fallback text and every mrkdwn text object. */
function mrkdwnTexts(m: SlackMessage): string[] {
  const out: string[] = [m.text];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (typeof v === 'object' && v !== null) {
      const o = v as Record<string, unknown>;
      if (o.type === 'mrkdwn' && typeof o.text === 'string') out.push(o.text);
      for (const x of Object.values(o)) walk(x);
    }
  };
  walk(m.blocks);
  return out;
}

const sectionTexts = (m: SlackMessage): string[] =>
  m.blocks.flatMap((b) => (b.type === 'section' ? [b.text?.text ?? '', ...(b.fields ?? []).map((f) => f.text)] : b.type === 'context' ? b.elements.map((e) => ('text' in e ? e.text : '')) : []));

const joined = (m: SlackMessage): string => allTexts(m).join('\n');

// ---------------------------------------------------------------------------------------------

describe('every renderer', () => {
  const cases = everyMessage();

  it('is exercised in every state the types allow, and each state renders differently', () => {
    // `satisfies` makes a state added to a type fail to compile here until the lists name it.
    const taskStatuses = { queued: 1, running: 1, done: 1, failed: 1, deleted: 1, unknown: 1 } satisfies Record<TaskStatus, 1>;
    const restoreStates = { pending: 1, approved: 1, running: 1, succeeded: 1, failed: 1, rejected: 1, withdrawn: 1, expired: 1, not_started: 1, unknown: 1 } satisfies Record<RestoreState, 1>;
    const followupStates = { following: 1, success: 1, failure: 1, timeout: 1, unconfigured: 1, 'source-ended': 1, 'not-started': 1 } satisfies Record<FollowupState, 1>;
    const errorCases = {
      credentials: 'manager error: credentials',
      not_found: 'manager error: not found, long description',
      conflict: 'manager error: conflict',
      unavailable: 'manager error: unavailable',
      bad_response: 'manager error: bad response',
      rejected: 'manager error: rejected',
    } satisfies Record<BackupManagerErrorKind, string>;
    expect([...ALL_TASK_STATUSES].sort()).toEqual(Object.keys(taskStatuses).sort());
    expect([...ALL_RESTORE_STATES].sort()).toEqual(Object.keys(restoreStates).sort());
    expect([...ALL_FOLLOWUP_STATES].sort()).toEqual(Object.keys(followupStates).sort());

    const byName = new Map(cases);
    expect(byName.size).toBe(cases.length);
    const rendered = (name: string): string => {
      const m = byName.get(name);
      if (!m) throw new Error(`no case "${name}"`);
      return joined(m);
    };
    const perState = (states: readonly string[], name: (s: string) => string): void => {
      const texts = states.map((st) => rendered(name(st)));
      expect(new Set(texts).size).toBe(states.length);
    };
    for (const name of Object.values(errorCases)) rendered(name);
    perState(ALL_TASK_STATUSES, (st) => `backup parent, ${st}`);
    perState(ALL_TASK_STATUSES, (st) => `transition reply, ${st}`);
    perState(ALL_RESTORE_STATES, (st) => `restore card, ${st}`);
    perState(ALL_RESTORE_STATES, (st) => `restore outcome, ${st}`);
    perState(ALL_RESTORE_STATES, (st) => `restore audit, ${st}`);
    perState(ALL_FOLLOWUP_STATES, (st) => `log follow-up, ${st}, long`);
  });

  it.each(cases)('%s: holds Block Kit limits', (_name, m) => {
    assertBlockKitLimits(m);
    expect(m.blocks.length).toBeGreaterThan(0);
  });

  it.each(cases)('%s: has a non-empty plain-text fallback within bounds', (_name, m) => {
    expect(m.text.trim().length).toBeGreaterThan(0);
    expect(m.text.length).toBeLessThanOrEqual(LIMITS.fallbackText);
  });

  it.each(cases)('%s: lets no Slack control sequence through, only its own mentions', (_name, m) => {
    for (const text of mrkdwnTexts(m)) {
      for (const raw of RAW_CONTROL) expect(text).not.toContain(raw);
      // The only `<` a renderer writes itself opens a mention of a user id or a date of its own (digits, tokens, an ISO fallback).
      expect(text.replace(/<@[UW][A-Z0-9]+>/g, '').replace(/<!date\^\d+\^[{}a-z_ ]+\|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ>/g, '')).not.toContain('<');
    }
  });
});

describe('content', () => {
  describe('help', () => {
    it('shows every subcommand, the backup forms and the default instance', () => {
      const m = renderHelp('pg1');
      const text = joined(m);
      for (const s of ['now [instance]', 'list [instance]', '`status`', 'restore &lt;backup&gt; [instance] [reason…]', '`148`', '`a9s-pg-1542859215559`', '`pg1`']) {
        expect(text).toContain(s);
      }
    });

    it('puts the problem first, then the usage', () => {
      const m = renderUsageError('`now` takes at most one instance name.', 'a9s-pg');
      expect(m.text).toBe('`now` takes at most one instance name.');
      expect(sectionTexts(m)).toEqual([':warning: `now` takes at most one instance name.', usageText('a9s-pg')]);
    });
  });

  describe('manager errors', () => {
    it.each([
      [new CredentialsRejectedError('401', 401, undefined), /rejected the credentials/],
      [new NotFoundError('404', 404, 'no such instance'), /No instance `pg9` on the Backup Manager \(no such instance\)/],
      [new ConflictError('409', 409, undefined), /already in progress/],
      [new UnavailableError('x', undefined, undefined, 'ECONNREFUSED'), /unreachable/],
      [new BadResponseError('x', 500, undefined, '<html>secret</html>'), /unexpected answer/],
      [new RejectedError('x', 422, 'BackupNonRestorableState'), /refused the request \(HTTP 422\) \(BackupNonRestorableState\)/],
    ])('names the cause of %p', (e, sentence) => {
      expect(managerErrorSentence(e, 'pg9')).toMatch(sentence);
    });

    // An answer with a status is not "no answer": the operator looks in different places for each.
    it.each([
      [new UnavailableError('x', 503, '503 Service Unavailable', 'HTTP_503'), 'The Backup Manager answered 503 Service Unavailable. Try again'],
      [new UnavailableError('x', 502, undefined, 'HTTP_502'), 'The Backup Manager answered 502 Bad Gateway. Try again'],
      [new UnavailableError('x', 504, 'upstream timed out', 'HTTP_504'), 'The Backup Manager answered 504 Gateway Timeout (upstream timed out). Try again'],
      [new BadResponseError('x', 500, undefined, '<html>'), 'Got an unexpected answer from the Backup Manager: it answered 500 Internal Server Error. The details'],
      [new BadResponseError('x', 200, undefined, '{"backups": ['), "Got an unexpected answer from the Backup Manager. The details are in the bot's log."],
      [new UnavailableError('x', undefined, undefined, 'ECONNREFUSED'), 'Backup Manager unreachable: it refused the connection (ECONNREFUSED). Try again'],
      [new UnavailableError('x', undefined, undefined, 'ENOTFOUND'), 'Backup Manager unreachable: its address could not be resolved (ENOTFOUND).'],
      [new UnavailableError('x', undefined, undefined, 'UND_ERR_HEADERS_TIMEOUT'), 'Backup Manager unreachable: it did not answer in time (UND_ERR_HEADERS_TIMEOUT).'],
      [new DeadlineError(15_000), 'Backup Manager unreachable: it did not answer within 15 s. Try again'],
      [new UnavailableError('x', undefined, undefined, 'DEPTH_ZERO_SELF_SIGNED_CERT'), "The Backup Manager's TLS certificate was not accepted (DEPTH_ZERO_SELF_SIGNED_CERT). Check BACKUP_MANAGER_CA_FILE"],
    ])('says what happened: %p', (e, sentence) => {
      const said = managerErrorSentence(e, 'pg9');
      expect(said.startsWith(sentence)).toBe(true);
      if (e.status !== undefined && e.status !== 200) expect(said).not.toMatch(/unreachable|did not answer|refused the connection/);
    });

    it('shows neither a stack, nor the raw message, nor a body snippet', () => {
      const secret = 'pw-SeCrEt-Hunter2';
      const e = new BadResponseError(`GET http://admin:${secret}@bm failed`, 500, undefined, `<html>${secret}</html>`);
      for (const m of [renderManagerError(e, 'pg1', 'list'), renderManagerError(new Error(`crash ${secret}`), 'pg1', 'list')]) {
        const text = joined(m);
        expect(text).not.toContain(secret);
        expect(text).not.toMatch(/\n\s+at /);
        expect(m.text).toMatch(/^Could not list: /);
      }
    });
  });

  describe('backup thread', () => {
    it('parent carries instance, requester, task id and the current status', () => {
      const m = renderBackupParent(task({ status: 'running', statusAt: T0 + 5_000 }));
      const text = joined(m);
      expect(m.text).toBe('Backup of a9s-pg (task 148): running');
      for (const s of ['`a9s-pg`', '<@U0ALICE>', '148', ':arrows_counterclockwise: running']) expect(text).toContain(s);
    });

    it('a running parent names when it started running as a Slack date, never a duration that goes stale', () => {
      const text = joined(renderBackupParent(task({ status: 'running', statusAt: T0 + 5_000 })));
      expect(text).toContain(`running since <!date^${Math.floor((T0 + 5_000) / 1000)}^{time_secs}|2018-11-22T04:00:20Z>`);
      expect(text).toContain(`Started <!date^${Math.floor(T0 / 1000)}^`);
      expect(text).not.toMatch(/running for/);
    });

    it('a finished parent says how long the backup took', () => {
      const text = joined(renderBackupParent(task({ status: 'done', statusAt: T0 + 73_135, finishedAt: T0 + 73_135 })));
      expect(text).toContain('took 1m 13s');
      expect(text).not.toMatch(/ since /);
    });

    it('done reply gives size in human units, backup_id and duration', () => {
      const m = renderTransitionReply(task({ status: 'done', size: 44985152, backupName: 'a9s-pg-1542859215559', finishedAt: T0 + 73_135 }), 'done');
      const text = joined(m);
      expect(m.text).toBe('Backup 148 of a9s-pg is done: 42.9 MiB, a9s-pg-1542859215559, took 1m 13s');
      for (const s of ['42.9 MiB', '`a9s-pg-1542859215559`', '1m 13s']) expect(text).toContain(s);
    });

    it('failed reply carries the manager\'s msg, escaped, in blocks and fallback', () => {
      const m = renderTransitionReply(task({ status: 'failed', msg: 'pg_dump: error: <disk> full & stuck' }), 'failed');
      expect(m.text).toBe('Backup 148 of a9s-pg FAILED: pg_dump: error: &lt;disk&gt; full &amp; stuck');
      expect(joined(m)).toContain('>pg_dump: error: &lt;disk&gt; full &amp; stuck');
    });

    it('failed reply without msg says so', () => {
      expect(joined(renderTransitionReply(task({ status: 'failed' }), 'failed'))).toContain('gave no reason');
    });

    it('keeps the start of a 10,000-character msg', () => {
      const m = renderTransitionReply(task({ status: 'failed', msg: LONG_MSG }), 'failed');
      expect(joined(m)).toContain('pg_dump failed: &lt;!channel&gt;');
      expect(m.text).toContain('…');
    });

    it('unknown status shows the raw word', () => {
      expect(joined(renderTransitionReply(task(), 'unknown', 'paused'))).toContain('unknown (paused)');
    });
  });

  describe('backup list', () => {
    const v = view('a9s-pg', manyBackups(200));
    const m = renderBackupList(v, NOW);

    it('shows the latest 10, newest first', () => {
      const ids = m.blocks.flatMap((b) => (b.type === 'section' && b.text ? [/^\*(\d+)\*/.exec(b.text.text)?.[1]] : [])).filter((x): x is string => x !== undefined);
      expect(ids).toEqual(Array.from({ length: LIST_LIMIT }, (_, i) => String(299 - i)));
      expect(joined(m)).toContain(`newest first, ${LIST_LIMIT} of 200`);
    });

    it('puts a Restore… button on each done backup only, with a value that names it', () => {
      const buttons = m.blocks.flatMap((b) => (b.type === 'section' && b.accessory?.type === 'button' ? [b.accessory] : []));
      const done = v.backups.filter((b) => b.id >= 290 && b.status === 'done').map((b) => b.id);
      expect(done.length).toBeGreaterThan(0);
      expect(buttons.map((b) => b.action_id)).toEqual(done.map(() => RESTORE_OPEN_ACTION));
      expect(buttons.map((b) => JSON.parse(b.value ?? '{}') as unknown)).toEqual(done.sort((a, b) => b - a).map((id) => ({ instance: 'a9s-pg', backupId: id })));
      expect(restoreButtonValue('a9s-pg', 148)).toBe('{"instance":"a9s-pg","backupId":148}');
    });

    it('names each Restore… button by its backup for screen readers', () => {
      const buttons = m.blocks.flatMap((b) => (b.type === 'section' && b.accessory?.type === 'button' ? [b.accessory] : []));
      const ids = buttons.map((b) => (JSON.parse(b.value ?? '{}') as { backupId: number }).backupId);
      expect(buttons.map((b) => b.accessibility_label)).toEqual(ids.map((id) => `Restore backup ${id} of a9s-pg`));
    });

    it('shows size and age of done backups and the reason of failed ones', () => {
      const text = joined(m);
      expect(text).toContain('42.9 MiB');
      expect(text).toMatch(/\d+h \d+m ago/);
      expect(text).toContain('>pg_dump: connection refused');
      expect(text).toContain('unknown (weird)');
    });

    it('offers no button while a restore holds the instance', () => {
      const locked = renderBackupList(v, NOW, { restoreLocked: true });
      expect(locked.blocks.some((b) => b.type === 'section' && b.accessory !== undefined)).toBe(false);
      expect(joined(locked)).toContain('restores are disabled');
    });

    it('tells how to make the first backup', () => {
      expect(joined(renderBackupList(view('pg1', []), NOW))).toContain('/pgbackup now pg1');
    });
  });

  describe('restore card', () => {
    it('shows instance, backup, age, size, requester and the escaped reason', () => {
      const m = renderRestoreCard(restoreReq({ instance: 'pg1', reason: '<!channel> dropped table & more' }), NOW);
      const text = joined(m);
      for (const s of ['`pg1` (id 38)', '148 · `a9s-pg-1542859215559`', '5h 59m ago', '42.9 MiB', '<@U0ALICE>', '&lt;!channel&gt; dropped table &amp; more', '0 of 1']) {
        expect(text).toContain(s);
      }
      expect(text).not.toContain('Ghost');
    });

    it('carries the seed\'s a9s-pg warnings and lists the newer backups', () => {
      const m = renderRestoreCard(restoreReq({ newerBackups: newer(300) }), NOW);
      const text = joined(m);
      expect(text).toContain('*unavailable* while the restore runs');
      expect(text).toContain('*not recorded*');
      expect(text).toContain('The *300 backups of `a9s-pg` made after this one* will no longer be known');
      expect(text).toContain('*Ghost instances* may result');
      for (let i = 0; i < 15; i++) expect(text).toContain(`• ${149 + i} \`a9s-pg-${1542859215559 + i * 86_400_000}\``);
      expect(text).not.toContain(`• ${149 + 15} `);
      expect(text).toContain('…and 285 more');
    });

    it('says so when no backup is newer', () => {
      const text = a9sPgWarnings([{ instance: 'a9s-pg', known: true, later: [] }]);
      expect(text).toContain('• No backups of `a9s-pg` were made after this one.');
      expect(text).not.toMatch(/0 backups|none/);
      expect(newerBackupsList([{ id: 149, backupName: null, createdAt: null }])).toBe('• 149');
    });

    it('says that the later backups of every instance are forgotten, per known instance', () => {
      const m = renderRestoreCard(
        restoreReq({
          laterBackups: [
            { instance: 'a9s-pg', known: true, later: newer(2) },
            { instance: 'pg-orders', known: true, later: newer(7, (i) => `pg-orders-${i}`).map((b, i) => ({ ...b, status: i === 1 ? 'failed' : 'done' })) },
            { instance: 'pg-down', known: false, error: 'answered 503 <b>' },
            { instance: 'pg-a', known: true, later: [] },
            { instance: 'pg-b', known: true, later: [] },
          ],
        }),
        NOW,
      );
      const text = joined(m);
      expect(text).toContain('The *2 backups of `a9s-pg` made after this one* will no longer be known:\n• 149 `a9s-pg-1542859215559`\n• 150');
      expect(text).toContain("The Backup Manager's database holds the records of *every* instance: the backups of *other instances* made after this one are forgotten too.");
      expect(text).toContain('◦ `pg-orders`: 7 backups — 149 `pg-orders-0`, 150 `pg-orders-1` (failed), 151 `pg-orders-2`, 152 `pg-orders-3`, 153 `pg-orders-4`, …and 2 more');
      expect(text).toContain('◦ `pg-down`: :warning: could not be read (answered 503 &lt;b&gt;); its backups made after this one are forgotten too');
      expect(text).toContain('◦ `pg-a`, `pg-b`: no backups were made after this one');
    });

    it('keeps a long list of instances within one section, ending in "…and N more instances"', () => {
      const laterBackups = [
        { instance: 'a9s-pg', known: true as const, later: newer(40) },
        ...Array.from({ length: 80 }, (_, i) => ({ instance: `pg-${String(i).padStart(2, '0')}-${'x'.repeat(40)}`, known: true as const, later: newer(3, (j) => `pg-${i}-${j}`) })),
      ];
      const m = renderRestoreCard(restoreReq({ laterBackups }), NOW);
      assertBlockKitLimits(m);
      const warning = sectionTexts(m).find((t) => t.includes('Restoring a9s-pg')) ?? '';
      expect(warning.length).toBeLessThanOrEqual(LIMITS.sectionText);
      expect(warning).toContain('…and 25 more');
      expect(warning).toMatch(/◦ …and \d+ more instances not shown \(\d+ backups made after this one\)/);
      expect(warning).toContain('*Ghost instances* may result');
      const shown = (warning.match(/◦ `pg-\d\d-/g) ?? []).length;
      const more = Number(/…and (\d+) more instances/.exec(warning)?.[1]);
      expect(shown).toBeGreaterThan(3);
      expect(shown + more).toBe(80);
    });

    it('offers Approve (primary, confirmed), Reject (danger) and Withdraw while pending', () => {
      const m = renderRestoreCard(restoreReq(), NOW);
      const block = m.blocks.find((b) => b.type === 'actions');
      if (block?.type !== 'actions') throw new Error('no actions block');
      const [approve, reject, withdraw] = block.elements;
      expect(approve).toMatchObject({ type: 'button', action_id: APPROVE_ACTION, value: '7', style: 'primary' });
      expect(approve?.type === 'button' ? approve.confirm : undefined).toMatchObject({
        title: { type: 'plain_text', text: 'Approve this restore?' },
        text: { type: 'plain_text', text: expect.stringContaining('Restore a9s-pg to backup 148 (a9s-pg-1542859215559)') },
      });
      expect(reject).toMatchObject({ type: 'button', action_id: REJECT_ACTION, value: '7', style: 'danger' });
      expect(withdraw).toMatchObject({ type: 'button', action_id: WITHDRAW_ACTION, value: '7' });
    });

    it.each(ALL_RESTORE_STATES.filter((s) => s !== 'pending'))('shows the decision and no buttons once %s', (state) => {
      const m = renderRestoreCard(decided(state), NOW);
      expect(m.blocks.some((b) => b.type === 'actions')).toBe(false);
      expect(m.text).toContain(`: ${state}`);
    });

    it('records who decided and when', () => {
      const at = isoTime(NOW - 30_000);
      expect(joined(renderRestoreCard(decided('rejected'), NOW))).toContain(`*Rejected* by <@U0BOB> at ${at}`);
      expect(joined(renderRestoreCard(decided('withdrawn'), NOW))).toContain(`*Withdrawn* by <@U0ALICE> at ${at}`);
      expect(joined(renderRestoreCard(decided('approved'), NOW))).toContain(`<@U0BOB> approved at ${at}`);
      expect(joined(renderRestoreCard(decided('expired'), NOW))).toContain('*Expired*');
      expect(joined(renderRestoreCard(restoreReq({ approvalsNeeded: 2, approvals: [{ userId: 'U0BOB', at: NOW }] }), NOW))).toContain('1 more needed');
    });

    it('links the audit record to the restore thread, only with a link Slack could have given', () => {
      const link = 'https://example.slack.com/archives/C0OPS/p1732590000000100';
      expect(joined(renderRestoreAudit(decided('running'), link))).toContain(`<${link}|Open the restore thread>`);
      expect(joined(renderRestoreAudit(decided('running'), 'https://x.example/a|<!channel>'))).not.toContain('Open the restore thread');
      expect(joined(renderRestoreAudit(decided('running')))).not.toContain('Open the restore thread');
    });

    it('tells the requester the outcome, and records it for NOTIFY_CHANNEL', () => {
      expect(renderRestoreOutcome(decided('rejected')).blocks[0]).toMatchObject({ text: { text: expect.stringMatching(/^<@U0ALICE> :no_entry: \*Rejected\*/) } });
      expect(joined(renderRestoreAudit(decided('succeeded')))).toContain('*Restore #7* of `a9s-pg` to backup 148 (`a9s-pg-1542859215559`), requested by <@U0ALICE>');
    });
  });

  describe('log follow-up and summary', () => {
    it('keeps the newest of 1,000 long log lines in one code block', () => {
      const m = renderLogFollowup(restoreReq(), { state: 'following', lines: LOG_LINES, source: 'file' });
      const block = sectionTexts(m)[1] ?? '';
      expect(block.startsWith('```\n') && block.endsWith('\n```')).toBe(true);
      expect(block).toContain(LOG_LINES[999]);
      expect(block).not.toContain(LOG_LINES[0]);
      expect(block.length).toBeLessThanOrEqual(LIMITS.sectionText);
      expect(block).not.toContain('…');
      expect(joined(m)).toContain(`last 1000 lines · ${AGENT_LOG_PATH}`);
    });

    it('does not let a log line close the code block', () => {
      const m = renderLogFollowup(restoreReq(), { state: 'failure', lines: ['a ``` b'], source: 'file', reason: 'FATAL x' });
      expect(sectionTexts(m)[1]).toBe("```\na ''' b\n```");
      expect(joined(m)).toContain('>FATAL x');
    });

    it('gives the command to run by hand when no source is configured', () => {
      const m = renderLogFollowup(restoreReq(), { state: 'unconfigured', lines: [], source: null });
      const text = joined(m);
      expect(text).toContain('LOG_TAIL_FILE');
      expect(text).toContain(`bosh -d &lt;a9s-pg deployment&gt; ssh pg/0 -c 'sudo tail -F ${AGENT_LOG_PATH}'`);
    });

    it('summarises an a9s-pg restore: outcome, duration, forgotten backups, ghosts', () => {
      const r = decided('succeeded', { startedAt: NOW - 125_000, newerBackups: newer(3) });
      const m = renderRestoreSummary(r, 'succeeded', 'success', NOW, [{ instance: 'a9s-pg', comparable: true, forgotten: newer(3), stillListed: [] }]);
      const text = joined(m);
      expect(m.text).toBe('Restore of a9s-pg to backup 148 succeeded (took 2m 5s)');
      for (const s of ['*Backups no longer known*', '• 149 `a9s-pg-1542859215559`', '• 151', '*ghost instances*', 'approved by <@U0BOB>']) expect(text).toContain(s);
    });

    it('never says a restore that did not start "succeeded" or "took 0s"', () => {
      const r = decided('not_started', { startedAt: NOW, newerBackups: newer(3), outcome: 'The Backup Manager did not confirm it' });
      const m = renderRestoreSummary(r, 'not_started', 'The Backup Manager did not confirm it', NOW);
      const text = joined(m);
      expect(m.text).toBe('Restore of a9s-pg to backup 148 not started');
      expect(text).not.toMatch(/succeeded|took|no longer known/);
      expect(joined(renderRestoreCard(r, NOW))).toContain(':no_entry_sign: *Not started*: The Backup Manager did not confirm it');
    });

    it('says "outcome unknown" rather than failed or succeeded when no end was seen', () => {
      const r = decided('unknown', { startedAt: NOW - 7_200_000, outcome: 'No end of the restore seen' });
      expect(renderRestoreSummary(r, 'unknown', 'No end of the restore seen', NOW).text).toBe('Restore of a9s-pg to backup 148 ended with its outcome unknown (took 2h 0m)');
      expect(joined(renderRestoreCard(r, NOW))).toContain(':grey_question: *Outcome unknown*: No end of the restore seen');
    });

    it('escapes a manager error once: stored plain, escaped on the card', () => {
      const sentence = managerErrorSentence(new ConflictError('409', 409, 'busy <!channel> & co'), 'pg-orders', 'plain');
      expect(sentence).toBe('A restore of `pg-orders` is already in progress (busy <!channel> & co).');
      const text = joined(renderRestoreCard(decided('failed', { outcome: sentence }), NOW));
      expect(text).toContain('busy &lt;!channel&gt; &amp; co');
      expect(text).not.toContain('&amp;lt;');
    });

    it('does not list forgotten backups for a service instance', () => {
      const text = joined(renderRestoreSummary(decided('failed', { instance: 'pg1', newerBackups: [] }), 'failed', 'ERROR x', NOW));
      expect(text).not.toContain('no longer known');
      expect(text).toContain('>ERROR x');
    });
  });

  describe('watch notices', () => {
    it('failure notice names instance, backup, msg and time', () => {
      const m = renderFailureNotice('pg1', backup(150, 'failed'), NOW);
      const text = joined(m);
      for (const s of ['Backup 150 of `pg1` failed', '`a9s-pg-1542859215718`', '>pg_dump: connection refused', 'Failed at 2018-11-22T04:00:15.718Z']) expect(text).toContain(s);
      expect(m.text).toBe('Backup 150 of pg1 FAILED: pg_dump: connection refused');
    });

    it('outage and recovery say for how long', () => {
      expect(renderOutageNotice('a9s-pg', NOW - 185_000, NOW).text).toBe('Backup Manager unreachable for 3m 5s (watching a9s-pg)');
      expect(renderRecoveryNotice('a9s-pg', NOW - 185_000, NOW).text).toBe('Backup Manager reachable again after 3m 5s');
    });
  });
});

describe('format helpers', () => {
  it.each<[number | null | undefined, string]>([
    [44985152, '42.9 MiB'],
    [0, '0 B'],
    [1023, '1023 B'],
    [1024, '1.0 KiB'],
    [1536, '1.5 KiB'],
    [150 * 1024 * 1024, '150 MiB'],
    [5 * 1024 ** 4, '5.0 TiB'],
    [3 * 1024 ** 5, '3072 TiB'],
    [null, 'size unknown'],
    [undefined, 'size unknown'],
    [-1, 'size unknown'],
    [Number.NaN, 'size unknown'],
  ])('humanSize(%p) is %p', (bytes, expected) => {
    expect(humanSize(bytes)).toBe(expected);
  });

  it.each<[number, string]>([
    [0, '0s'],
    [499, '0s'],
    [59_400, '59s'],
    [60_000, '1m 0s'],
    [73_135, '1m 13s'],
    [3_599_000, '59m 59s'],
    [3_600_000, '1h 0m'],
    [47 * 3_600_000 + 59 * 60_000, '47h 59m'],
    [48 * 3_600_000, '2d 0h'],
    [-1, 'unknown'],
    [Number.POSITIVE_INFINITY, 'unknown'],
  ])('humanDuration(%p) is %p', (ms, expected) => {
    expect(humanDuration(ms)).toBe(expected);
  });

  it('age counts from an ISO time and copes with none, garbage and the future', () => {
    expect(age('2018-11-22T04:00:15.718Z', NOW)).toBe('5h 59m ago');
    expect(age('2018-11-22T09:59:30.000Z', NOW)).toBe('30s ago');
    expect(age(null, NOW)).toBe('unknown age');
    expect(age(undefined, NOW)).toBe('unknown age');
    expect(age('yesterday', NOW)).toBe('unknown age');
    expect(age('2018-11-23T00:00:00.000Z', NOW)).toBe('just now');
  });

  it('isoTime drops milliseconds', () => {
    expect(isoTime(T0)).toBe('2018-11-22T04:00:15Z');
  });

  it('escapes <, > and & so a user string can not ping or link', () => {
    expect(escapeMrkdwn('<!channel> & <@U123> <https://x|y>')).toBe('&lt;!channel&gt; &amp; &lt;@U123&gt; &lt;https://x|y&gt;');
    expect(escapeMrkdwn('&lt;')).toBe('&amp;lt;');
  });

  it('code() escapes and can not be broken out of', () => {
    expect(code('a`b<c>')).toBe("`a'b&lt;c&gt;`");
  });

  it('user() mentions ids and escapes anything else', () => {
    expect(user('U0ALICE')).toBe('<@U0ALICE>');
    expect(user('W123')).toBe('<@W123>');
    expect(user('<!channel>')).toBe('&lt;!channel&gt;');
    expect(user('u0alice')).toBe('u0alice');
  });

  it('statusLabel shows an emoji and the word', () => {
    expect(statusLabel('done')).toBe(':white_check_mark: done');
    expect(statusLabel('unknown', 'paused')).toBe(':grey_question: unknown (paused)');
    expect(statusLabel('unknown')).toBe(':grey_question: unknown');
  });

  it('truncate marks the cut and never splits an emoji', () => {
    expect(truncate('abcdef', 6)).toBe('abcdef');
    expect(truncate('abcdef', 4)).toBe('abc…');
    expect(truncate('a😀😀', 3)).toBe('a…');
    expect(truncate('a😀😀', 4)).toBe('a😀…');
    expect(truncate('😀'.repeat(10), 6).length).toBeLessThanOrEqual(6);
  });
});

describe('block builders', () => {
  it('message() caps the blocks at 50, saying more were left out', () => {
    const blocks: Block[] = Array.from({ length: 80 }, (_, i) => section(`s${i}`));
    const m = message('t', blocks);
    expect(m.blocks).toHaveLength(50);
    expect(m.blocks[49]).toEqual(context('_…more not shown_'));
    assertBlockKitLimits(m);
  });

  it('message() caps the fallback text', () => {
    expect(message('x'.repeat(50_000), [section('s')]).text.length).toBe(LIMITS.fallbackText);
  });

  it('fields() keeps at most 10 fields of at most 2000 characters', () => {
    const f = fields(Array.from({ length: 14 }, (_, i): [string, string] => [`k${i}`, 'v'.repeat(3000)]));
    expect(f.fields).toHaveLength(10);
    for (const x of f.fields ?? []) expect(x.text.length).toBeLessThanOrEqual(2000);
  });

  it('context() keeps at most 10 elements; header() at most 150 characters', () => {
    expect(context(...Array.from({ length: 12 }, (_, i) => `c${i}`)).elements).toHaveLength(10);
    expect(header('h'.repeat(500)).text.text.length).toBe(150);
  });

  it('button() shortens texts and refuses a value Slack would refuse', () => {
    const b = button({
      text: 'b'.repeat(100),
      actionId: 'a',
      value: 'v'.repeat(2000),
      confirm: { title: 't'.repeat(200), text: 'x'.repeat(500), confirm: 'c'.repeat(50), deny: 'd'.repeat(50) },
    });
    assertBlockKitLimits({ text: 't', blocks: [actions('a', [b])] });
    expect(() => button({ text: 'b', actionId: 'a', value: 'v'.repeat(2001) })).toThrow(/button value over 2000/);
  });

  it('actions() keeps at most 25 elements', () => {
    const many = Array.from({ length: 30 }, (_, i) => button({ text: `b${i}`, actionId: `a${i}`, value: String(i) }));
    expect(actions('x', many).elements).toHaveLength(25);
  });
});
