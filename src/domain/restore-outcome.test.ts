import type { Backup, InstanceView, Restore, TaskStatus } from './backups';
import { AGENT_LOG_PATH } from './constants';
import { RESTORE_CLOCK_SKEW_MS } from './own-restore';
import { CONFIRM_MIN_READS, decideRestore, type RestoreFacts } from './restore-outcome';

const APPROVED = Date.parse('2026-03-01T12:00:00Z');
const WINDOW = 30_000;

function facts(over: Partial<RestoreFacts> = {}): RestoreFacts {
  return {
    confirmed: false,
    unconfirmedReads: 0,
    instance: 'pg-orders',
    isPg: false,
    backupId: 148,
    managerRestoreId: null,
    approvedAt: APPROVED,
    knownBefore: new Set(),
    newerBackups: [],
    log: undefined,
    restoreRequestSeen: false,
    managerSeenDown: false,
    followingForMs: 0,
    confirmWindowMs: WINDOW,
    timedOut: false,
    logFollowed: true,
    holding: false,
    shown: { approvedAt: '2026-03-01T12:00:00Z', timeout: '2h 0m' },
    ...over,
  };
}

function restore(id: number, createdAt: number, status: TaskStatus, msg: string | null = null, backupId = 148): Restore {
  const task = { id: id + 100, taskId: id, status, rawStatus: status, msg, createdAt: new Date(createdAt).toISOString(), updatedAt: null };
  return { id, instanceId: 38, backupId, tasks: [task], status, msg };
}

function backup(id: number): Backup {
  return { id, backupName: `b-${id}`, instanceId: 1, size: null, downloadable: true, task: null, status: 'done' };
}

function view(over: Partial<InstanceView> = {}): InstanceView {
  return { id: 38, instanceGuid: 'pg-orders', guid: null, backups: [], restores: [], ...over };
}

const SUCCESS = { outcome: 'success' as const, line: 'INFO -- : restore finished: success' };
const FAILURE = { outcome: 'failure' as const, line: 'ERROR -- : pg_restore failed' };

describe('decideRestore: timeout', () => {
  it('ends unknown when the timeout has passed, whatever the log said for a9s-pg', () => {
    const d = decideRestore(facts({ isPg: true, instance: 'a9s-pg', log: SUCCESS, timedOut: true }));
    expect(d).toMatchObject({ kind: 'end', compareLaterBackups: false, ending: { outcome: 'unknown', state: 'timeout' } });
    expect(d.kind === 'end' && d.ending.detail).toBe('No end of the restore seen within 2h 0m; whether it worked is unknown. Check it by hand.');
  });

  it('keeps following before the timeout when nothing is known', () => {
    expect(decideRestore(facts({ confirmed: true, unconfirmedReads: 2 }))).toEqual({ kind: 'follow', confirmed: true, unconfirmedReads: 2 });
  });
});

describe('decideRestore: service instance', () => {
  it("ends with the log's success or failure line, without waiting for the manager", () => {
    expect(decideRestore(facts({ log: SUCCESS }))).toMatchObject({ kind: 'end', ending: { outcome: 'succeeded', detail: SUCCESS.line, state: 'success' } });
    expect(decideRestore(facts({ log: FAILURE }), view())).toMatchObject({ kind: 'end', ending: { outcome: 'failed', detail: FAILURE.line, state: 'failure' } });
  });

  it("the log's end of a restore whose id is unknown: asks for the manager's list first, then records the restore made since the approval", () => {
    expect(decideRestore(facts({ log: SUCCESS }))).toMatchObject({ kind: 'end', readOwnFirst: true });
    const v = view({ restores: [restore(12, APPROVED - 30 * 86_400_000, 'failed'), restore(13, APPROVED + 5, 'done')] });
    const d = decideRestore(facts({ log: SUCCESS }), v);
    expect(d).toMatchObject({ kind: 'end', ownRestoreId: 13, ending: { outcome: 'succeeded' } });
    expect(d).not.toHaveProperty('readOwnFirst');
    // Known already (the POST's answer): nothing to read or record.
    expect(decideRestore(facts({ log: SUCCESS, managerRestoreId: 13 }))).not.toHaveProperty('readOwnFirst');
    expect(decideRestore(facts({ log: SUCCESS, managerRestoreId: 13 }), v)).not.toHaveProperty('ownRestoreId');
  });

  it("holds the manager's done for the log grace while a log is followed, then ends with it", () => {
    const v = view({ restores: [restore(13, APPROVED + 2000, 'done')] });
    const ending = { outcome: 'succeeded', detail: 'The Backup Manager reports the restore done.', state: 'success' };
    expect(decideRestore(facts({ managerRestoreId: 13, confirmed: true }), v)).toEqual({ kind: 'hold', ending, confirmed: true, unconfirmedReads: 0 });
    expect(decideRestore(facts({ managerRestoreId: 13, confirmed: true, holding: true }), v)).toMatchObject({ kind: 'end', ending, compareLaterBackups: false });
    expect(decideRestore(facts({ managerRestoreId: 13, confirmed: true, logFollowed: false }), v)).toMatchObject({ kind: 'end', ending });
  });

  it("ends failed with the manager's message, or a plain one without it", () => {
    const withMsg = view({ restores: [restore(13, APPROVED + 2000, 'failed', 'disk full')] });
    expect(decideRestore(facts({ managerRestoreId: 13, logFollowed: false }), withMsg)).toMatchObject({ ending: { outcome: 'failed', detail: 'disk full', state: 'failure' } });
    const bare = view({ restores: [restore(13, APPROVED + 2000, 'failed')] });
    expect(decideRestore(facts({ managerRestoreId: 13, logFollowed: false }), bare)).toMatchObject({
      ending: { outcome: 'failed', detail: 'The Backup Manager reports the restore failed.' },
    });
  });

  it('keeps following a running restore, confirmed', () => {
    const v = view({ restores: [restore(13, APPROVED + 2000, 'running')] });
    expect(decideRestore(facts({ managerRestoreId: 13 }), v)).toEqual({ kind: 'follow', confirmed: true, unconfirmedReads: 0 });
  });

  it('finds its own restore only after the approval, and says to record its id', () => {
    const lastMonth = restore(12, APPROVED - 30 * 86_400_000, 'done');
    const old = decideRestore(facts(), view({ restores: [lastMonth] }));
    expect(old).toEqual({ kind: 'follow', confirmed: false, unconfirmedReads: 1 });
    const mine = decideRestore(facts(), view({ restores: [lastMonth, restore(13, APPROVED - RESTORE_CLOCK_SKEW_MS + 1000, 'queued')] }));
    expect(mine).toEqual({ kind: 'follow', confirmed: true, unconfirmedReads: 0, ownRestoreId: 13 });
  });

  it('does not take a restore listed before the POST, nor one of another backup', () => {
    const v = view({ restores: [restore(13, APPROVED + 1000, 'done'), restore(14, APPROVED + 1000, 'done', null, 149)] });
    expect(decideRestore(facts({ knownBefore: new Set([13]) }), v)).toEqual({ kind: 'follow', confirmed: false, unconfirmedReads: 1 });
  });

  it('with a known id, records nothing new', () => {
    const v = view({ restores: [restore(13, APPROVED + 2000, 'running')] });
    expect(decideRestore(facts({ managerRestoreId: 13 }), v)).not.toHaveProperty('ownRestoreId');
  });

  it('ends as not started only after both the minimum reads and the window', () => {
    const empty = view();
    const reads = CONFIRM_MIN_READS - 1;
    expect(decideRestore(facts({ unconfirmedReads: reads - 1, followingForMs: WINDOW }), empty)).toEqual({ kind: 'follow', confirmed: false, unconfirmedReads: reads });
    expect(decideRestore(facts({ unconfirmedReads: reads, followingForMs: WINDOW - 1 }), empty)).toEqual({ kind: 'follow', confirmed: false, unconfirmedReads: reads + 1 });
    const d = decideRestore(facts({ unconfirmedReads: reads, followingForMs: WINDOW }), empty);
    expect(d).toMatchObject({ kind: 'end', compareLaterBackups: false, ending: { outcome: 'not_started', state: 'not-started' } });
    expect(d.kind === 'end' && d.ending.detail).toBe(
      'The Backup Manager did not confirm it: the Backup Manager lists no restore of backup 148 started since the approval (2026-03-01T12:00:00Z). Nothing was sent again. ' +
        `Before retrying, check the manager's restores of pg-orders and the backup-agent log (${AGENT_LOG_PATH}): a restore may still show up there.`,
    );
  });

  it('never ends a confirmed restore as not started, nor counts its reads', () => {
    expect(decideRestore(facts({ confirmed: true, unconfirmedReads: 0, followingForMs: 10 * WINDOW }), view())).toEqual({
      kind: 'follow',
      confirmed: true,
      unconfirmedReads: 0,
    });
  });
});

describe('decideRestore: a9s-pg', () => {
  const pg = (over: Partial<RestoreFacts> = {}) => facts({ isPg: true, instance: 'a9s-pg', ...over });
  const answer = (...ids: number[]) => view({ instanceGuid: 'a9s-pg', backups: ids.map(backup) });

  it("waits for the manager after the log's success: the summary needs its answer", () => {
    expect(decideRestore(pg({ log: SUCCESS, confirmed: true }))).toEqual({ kind: 'follow', confirmed: true, unconfirmedReads: 0 });
  });

  it("ends with the log's word once the manager answers, comparing the later backups", () => {
    const ok = decideRestore(pg({ log: SUCCESS }), answer());
    expect(ok).toMatchObject({ kind: 'end', compareLaterBackups: true, ending: { outcome: 'succeeded', detail: `Backup agent: ${SUCCESS.line}`, state: 'success' } });
    const failed = decideRestore(pg({ log: FAILURE }), answer());
    expect(failed).toMatchObject({ kind: 'end', compareLaterBackups: true, ending: { outcome: 'failed', detail: `Backup agent: ${FAILURE.line}`, state: 'failure' } });
  });

  it('ends succeeded when the manager answers again after its outage, with no log line', () => {
    const d = decideRestore(pg({ managerSeenDown: true, newerBackups: [{ id: 7 }, { id: 8 }] }), answer(7));
    expect(d).toMatchObject({
      kind: 'end',
      compareLaterBackups: true,
      ending: { outcome: 'succeeded', detail: 'No log line confirmed the outcome; the Backup Manager answers again. 1 of the newer backups are still listed by the manager.', state: 'success' },
    });
  });

  it('ends succeeded when the manager forgot every newer backup, without an outage seen', () => {
    const d = decideRestore(pg({ newerBackups: [{ id: 7 }, { id: 8 }] }), answer(5));
    expect(d).toMatchObject({ kind: 'end', compareLaterBackups: true, ending: { outcome: 'succeeded', detail: 'No log line confirmed the outcome; the Backup Manager answers again.' } });
  });

  it('takes neither an empty list of newer backups nor a partly forgotten one for a restore', () => {
    expect(decideRestore(pg(), answer())).toEqual({ kind: 'follow', confirmed: false, unconfirmedReads: 1 });
    expect(decideRestore(pg({ newerBackups: [{ id: 7 }, { id: 8 }] }), answer(8))).toEqual({ kind: 'follow', confirmed: false, unconfirmedReads: 1 });
  });

  it("counts the agent's `POST /v1/restore` as confirmation", () => {
    expect(decideRestore(pg({ restoreRequestSeen: true, unconfirmedReads: 5, followingForMs: WINDOW }), answer())).toEqual({
      kind: 'follow',
      confirmed: true,
      unconfirmedReads: 5,
    });
  });

  it('ends as not started when the manager stayed up and the log showed no restore request', () => {
    const d = decideRestore(pg({ unconfirmedReads: CONFIRM_MIN_READS - 1, followingForMs: WINDOW }), answer());
    expect(d).toMatchObject({ kind: 'end', compareLaterBackups: false, ending: { outcome: 'not_started', state: 'not-started' } });
    expect(d.kind === 'end' && d.ending.detail).toContain(
      'the Backup Manager stayed up and no `POST /v1/restore` appeared in the backup-agent log since the approval (2026-03-01T12:00:00Z)',
    );
  });
});
