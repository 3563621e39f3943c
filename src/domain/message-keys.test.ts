import * as keys from './message-keys';
import { PRIORITY, parseRef, refFor } from './message-keys';

describe('message keys', () => {
  // Stored jobs and Slack's message metadata hold these texts: they are a format, not an implementation detail.
  it.each([
    [keys.taskParent(12), 'task:12:parent', PRIORITY.normal, 'task-parent:12'],
    [keys.taskParentUpdate(12, 'running', 1700), 'task:12:parent:running@1700', PRIORITY.normal, undefined],
    [keys.taskReply(12, 'done', 1800), 'task:12:reply:done@1800', PRIORITY.normal, undefined],
    [keys.taskFirstReply(12, 'queued'), 'task:12:reply:queued', PRIORITY.normal, undefined],
    [keys.restoreCard(3), 'restore:3:card', PRIORITY.decision, 'restore-card:3'],
    [keys.restoreCardUpdate(3, 'pending', 1, 0), 'restore:3:card:pending:1', PRIORITY.decision, undefined],
    [keys.restoreCardUpdate(3, 'pending', 0, 1), 'restore:3:card:pending:0:r1', PRIORITY.decision, undefined],
    [keys.restoreOutcome(3, 'approved'), 'restore:3:outcome:approved', PRIORITY.normal, undefined],
    [keys.restoreAudit(3), 'restore:3:audit', PRIORITY.normal, 'restore-audit:3'],
    [keys.restoreAuditUpdate(3, 'approved', 2, 0, true), 'restore:3:audit:approved:2:link', PRIORITY.normal, undefined],
    [keys.restoreAuditUpdate(3, 'rejected', 0, 2, false), 'restore:3:audit:rejected:0:r2', PRIORITY.normal, undefined],
    [keys.restoreNote(3), 'restore:3:note:start', PRIORITY.normal, undefined],
    [keys.restoreNote(3, 1900), 'restore:3:note:resumed:1900', PRIORITY.normal, undefined],
    [keys.restoreFollowup(3), 'restore:3:followup', PRIORITY.normal, 'restore-followup:3'],
    [keys.restoreFollowupEdit(3, 'final'), 'restore:3:followup:edit:final', PRIORITY.normal, undefined],
    [keys.restoreFollowupEdit(3, { at: 2000, n: 4 }), 'restore:3:followup:edit:2000-4', PRIORITY.normal, undefined],
    [keys.restoreManagerDown(3), 'restore:3:manager-down', PRIORITY.normal, undefined],
    [keys.restoreSummary(3), 'restore:3:summary', PRIORITY.normal, undefined],
    [keys.failureNotice('pg-1', 44), 'failure:pg-1:44', PRIORITY.normal, undefined],
    [keys.outageNotice(5000), 'outage:5000', PRIORITY.normal, undefined],
    [keys.recoveryNotice(5000), 'recovery:5000', PRIORITY.normal, undefined],
    [keys.intentUnconfirmed(9), 'intent:9:unconfirmed', PRIORITY.normal, undefined],
  ])('%o is %s', (id, key, priority, ref) => {
    expect(id).toEqual(ref === undefined ? { key, priority } : { key, priority, ref });
  });

  it('gives distinct inputs distinct keys', () => {
    const all = [1, 2, 12].flatMap((n) => [
      keys.taskParent(n),
      keys.taskParentUpdate(n, 'running', 100),
      keys.taskParentUpdate(n, 'running', 101),
      keys.taskParentUpdate(n, 'done', 100),
      keys.taskReply(n, 'running', 100),
      keys.taskReply(n, 'running', 101),
      keys.taskFirstReply(n, 'running'),
      keys.taskFirstReply(n, 'queued'),
      keys.restoreCard(n),
      keys.restoreCardUpdate(n, 'pending', 1, 0),
      keys.restoreCardUpdate(n, 'pending', 0, 1),
      keys.restoreCardUpdate(n, 'pending', 1, 1),
      keys.restoreCardUpdate(n, 'approved', 1, 0),
      keys.restoreCardUpdate(n, 'pending', 2, 0),
      keys.restoreOutcome(n, 'approved'),
      keys.restoreOutcome(n, 'rejected'),
      keys.restoreAudit(n),
      keys.restoreAuditUpdate(n, 'pending', 1, 0, false),
      keys.restoreAuditUpdate(n, 'pending', 1, 0, true),
      keys.restoreAuditUpdate(n, 'pending', 0, 1, false),
      keys.restoreNote(n),
      keys.restoreNote(n, 100),
      keys.restoreNote(n, 101),
      keys.restoreFollowup(n),
      keys.restoreFollowupEdit(n, 'final'),
      keys.restoreFollowupEdit(n, { at: 100, n: 1 }),
      keys.restoreFollowupEdit(n, { at: 100, n: 2 }),
      keys.restoreFollowupEdit(n, { at: 101, n: 1 }),
      keys.restoreManagerDown(n),
      keys.restoreSummary(n),
      keys.failureNotice('pg-1', n),
      keys.failureNotice('pg-2', n),
      keys.outageNotice(n),
      keys.recoveryNotice(n),
      keys.intentUnconfirmed(n),
    ]);
    expect(new Set(all.map((m) => m.key)).size).toBe(all.length);
  });

  it('reads back every ref it writes, and nothing else', () => {
    for (const name of keys.REF_NAMES) expect(parseRef(refFor(name, 42))).toEqual({ name, id: 42 });
    expect(parseRef('task-parent')).toBeUndefined();
    expect(parseRef('task-parent:x')).toBeUndefined();
    expect(parseRef('unknown:1')).toBeUndefined();
  });
});
