import { z } from 'zod';
import { isUniqueViolation, LEADER_EPOCH_IS, type SqlDb as Db } from './sql/sql-db';
import type { LaterBackupsOf, NewerBackup, RestoreRequest, RestoreState, RestoreEnd } from '../../domain/restore-request';
import { FINAL_RESTORE_STATES } from '../../domain/restore-request';

export { FINAL_RESTORE_STATES, type LaterBackupsOf, type NewerBackup, type RestoreRequest, type RestoreState, type RestoreEnd };


const NewerBackupSchema = z.object({
  id: z.number(),
  backupName: z.string().nullable(),
  createdAt: z.string().nullable(),
  status: z.string().optional(),
});
/** The `newer_backups` column: a plain list (older rows: the request's own instance) or per instance. */
const StoredNewerSchema = z.union([
  z.array(NewerBackupSchema),
  z.object({
    instances: z.array(
      z.union([
        z.object({ instance: z.string(), known: z.literal(true), later: z.array(NewerBackupSchema) }),
        z.object({ instance: z.string(), known: z.literal(false), error: z.string() }),
      ]),
    ),
  }),
]);

function readNewer(json: string, instance: string): { newerBackups: NewerBackup[]; laterBackups: LaterBackupsOf[] } {
  let parsed: z.infer<typeof StoredNewerSchema>;
  try {
    parsed = StoredNewerSchema.parse(JSON.parse(json));
  } catch {
    // Never read an unreadable record as "nothing after": say it is unknown.
    return { newerBackups: [], laterBackups: [{ instance, known: false, error: 'the stored list could not be read' }] };
  }
  if (Array.isArray(parsed)) return { newerBackups: parsed, laterBackups: [{ instance, known: true, later: parsed }] };
  const own = parsed.instances.find((i) => i.instance === instance);
  return { newerBackups: own?.known ? own.later : [], laterBackups: parsed.instances };
}


interface Row {
  id: number;
  instance: string;
  instance_numeric_id: number;
  backup_id: number;
  backup_name: string | null;
  backup_size: number | null;
  backup_created_at: string | null;
  newer_backups: string;
  requester: string;
  reason: string;
  channel: string;
  card_ts: string | null;
  followup_ts: string | null;
  state: string;
  approvals_needed: number;
  rejections_needed: number;
  created_at: number;
  expires_at: number;
  decided_by: string | null;
  decided_at: number | null;
  started_at: number | null;
  manager_restore_id: number | null;
  post_confirmed: number;
  post_claimed_at: number | null;
  finished_at: number | null;
  outcome: string | null;
}

export type NewRestoreRequest = Partial<Pick<RestoreRequest, 'laterBackups' | 'rejectionsNeeded'>> &
  Pick<
  RestoreRequest,
  | 'instance'
  | 'instanceNumericId'
  | 'backupId'
  | 'backupName'
  | 'backupSize'
  | 'backupCreatedAt'
  | 'newerBackups'
  | 'requester'
  | 'reason'
  | 'channel'
  | 'approvalsNeeded'
  | 'createdAt'
  | 'expiresAt'
>;

/** Thrown when the one-restore-per-instance lock is held by another request. */
export class InstanceLockedError extends Error {
  constructor(readonly instance: string) {
    super(`A restore of ${instance} is already in progress`);
    this.name = 'InstanceLockedError';
  }
}

/**
 * Restore requests and their approvals. Every state change is a conditional UPDATE on the
 * expected state, so duplicate deliveries, simultaneous clicks and restarts can only ever
 * move a request once.
 */
export class RestoresRepo {
  private readonly stmts;

  constructor(private readonly db: Db) {
    this.stmts = {
      insert: db.prepare(
        `INSERT INTO restore_requests (instance, instance_numeric_id, backup_id, backup_name, backup_size,
           backup_created_at, newer_backups, requester, reason, channel, state, approvals_needed, rejections_needed, created_at, expires_at)
         VALUES (@instance, @instanceNumericId, @backupId, @backupName, @backupSize, @backupCreatedAt, @newerBackups,
           @requester, @reason, @channel, 'pending', @approvalsNeeded, @rejectionsNeeded, @createdAt, @expiresAt)
         RETURNING id`,
      ),
      byId: db.prepare('SELECT * FROM restore_requests WHERE id = ?'),
      // Inside approve/reject: holds the request's row until the end, so two replicas counting
      // approvals at once can not each miss the other's and leave a quorum unnoticed.
      byIdLocked: db.prepare(`SELECT * FROM restore_requests WHERE id = ?${db.forUpdate}`),
      approvals: db.prepare('SELECT user_id, approved_at FROM restore_approvals WHERE request_id = ? ORDER BY approved_at, user_id'),
      addApproval: db.prepare(
        'INSERT INTO restore_approvals (request_id, user_id, approved_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
      ),
      rejections: db.prepare('SELECT user_id, rejected_at FROM restore_rejections WHERE request_id = ? ORDER BY rejected_at, user_id'),
      addRejection: db.prepare(
        'INSERT INTO restore_rejections (request_id, user_id, rejected_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
      ),
      countRejections: db.prepare('SELECT COUNT(*) AS n FROM restore_rejections WHERE request_id = ?'),
      countApprovals: db.prepare('SELECT COUNT(*) AS n FROM restore_approvals WHERE request_id = ?'),
      // Before the POST, fenced by the leader's epoch: whoever claims it is the only one to send it.
      claimPost: db.prepare(
        `UPDATE restore_requests SET post_claimed_at = @at, post_epoch = @epoch
         WHERE id = @id AND state = 'approved' AND post_claimed_at IS NULL AND ${LEADER_EPOCH_IS}`,
      ),
      setCard: db.prepare('UPDATE restore_requests SET card_ts = ? WHERE id = ? AND card_ts IS NULL'),
      setFollowup: db.prepare('UPDATE restore_requests SET followup_ts = ? WHERE id = ? AND followup_ts IS NULL'),
      move: db.prepare(
        `UPDATE restore_requests SET state = @to, decided_by = COALESCE(@by, decided_by), decided_at = COALESCE(@decidedAt, decided_at)
         WHERE id = @id AND state = @from`,
      ),
      start: db.prepare(
        `UPDATE restore_requests SET state = 'running', started_at = @at, manager_restore_id = @managerId, post_confirmed = @confirmed
         WHERE id = @id AND state = 'approved'`,
      ),
      finish: db.prepare(
        `UPDATE restore_requests SET state = @to, finished_at = @at, outcome = @outcome
         WHERE id = @id AND state IN ('approved', 'running')`,
      ),
      setManagerId: db.prepare(
        `UPDATE restore_requests SET manager_restore_id = ? WHERE id = ? AND manager_restore_id IS NULL AND state = 'running'`,
      ),
      closePending: db.prepare(
        `UPDATE restore_requests SET state = 'not_started', decided_at = @at, finished_at = @at, outcome = @outcome
         WHERE id = @id AND state = 'pending'`,
      ),
      expire: db.prepare(
        `UPDATE restore_requests SET state = 'expired', decided_at = @now
         WHERE state = 'pending' AND expires_at <= @now RETURNING id`,
      ),
      inState: db.prepare('SELECT * FROM restore_requests WHERE state = ? ORDER BY id'),
      locking: db.prepare(`SELECT * FROM restore_requests WHERE instance = ? AND state IN ('approved', 'running') LIMIT 1`),
      countPending: db.prepare(`SELECT COUNT(*) AS n FROM restore_requests WHERE state = 'pending'`),
    };
  }

  create(req: NewRestoreRequest): RestoreRequest {
    const { laterBackups, rejectionsNeeded, ...row } = req;
    const newer = laterBackups && laterBackups.length > 0 ? { instances: laterBackups } : req.newerBackups;
    const inserted = this.stmts.insert.get({
      instance: row.instance,
      instanceNumericId: row.instanceNumericId,
      backupId: row.backupId,
      backupName: row.backupName,
      backupSize: row.backupSize,
      backupCreatedAt: row.backupCreatedAt,
      requester: row.requester,
      reason: row.reason,
      channel: row.channel,
      approvalsNeeded: row.approvalsNeeded,
      createdAt: row.createdAt,
      expiresAt: row.expiresAt,
      rejectionsNeeded: rejectionsNeeded ?? 1,
      newerBackups: JSON.stringify(newer),
    }) as { id: number };
    return this.get(inserted.id) as RestoreRequest;
  }

  get(id: number): RestoreRequest | undefined {
    const r = this.stmts.byId.get(id) as Row | undefined;
    if (!r) return undefined;
    const approvals = (this.stmts.approvals.all(id) as Array<{ user_id: string; approved_at: number }>).map((a) => ({
      userId: a.user_id,
      at: a.approved_at,
    }));
    const rejections = (this.stmts.rejections.all(id) as Array<{ user_id: string; rejected_at: number }>).map((a) => ({
      userId: a.user_id,
      at: a.rejected_at,
    }));
    return {
      id: r.id,
      instance: r.instance,
      instanceNumericId: r.instance_numeric_id,
      backupId: r.backup_id,
      backupName: r.backup_name,
      backupSize: r.backup_size,
      backupCreatedAt: r.backup_created_at,
      ...readNewer(r.newer_backups, r.instance),
      requester: r.requester,
      reason: r.reason,
      channel: r.channel,
      cardTs: r.card_ts,
      followupTs: r.followup_ts,
      state: r.state as RestoreState,
      approvalsNeeded: r.approvals_needed,
      approvals,
      rejectionsNeeded: r.rejections_needed,
      rejections,
      createdAt: r.created_at,
      expiresAt: r.expires_at,
      decidedBy: r.decided_by,
      decidedAt: r.decided_at,
      startedAt: r.started_at,
      managerRestoreId: r.manager_restore_id,
      postConfirmed: r.post_confirmed === 1,
      postClaimedAt: r.post_claimed_at,
      finishedAt: r.finished_at,
      outcome: r.outcome,
    };
  }

  setCardTs(id: number, ts: string): void {
    this.stmts.setCard.run(ts, id);
  }

  setFollowupTs(id: number, ts: string): void {
    this.stmts.setFollowup.run(ts, id);
  }

  /**
   * Records an approval and, when it completes the quorum, moves the request to `approved`
   * in the same transaction. Returns what happened; `approved` is true for exactly one caller.
   */
  approve(id: number, userId: string, at: number): { added: boolean; approved: boolean } {
    return this.db.transaction(() => {
      const req = this.stmts.byIdLocked.get(id) as Row | undefined;
      if (!req || req.state !== 'pending') return { added: false, approved: false };
      const added = this.stmts.addApproval.run(id, userId, at).changes === 1;
      const n = (this.stmts.countApprovals.get(id) as { n: number }).n;
      if (n < req.approvals_needed) return { added, approved: false };
      try {
        const moved = this.stmts.move.run({ id, from: 'pending', to: 'approved', by: userId, decidedAt: at }).changes === 1;
        return { added, approved: moved };
      } catch (err) {
        if (isUniqueViolation(err)) throw new InstanceLockedError(req.instance);
        throw err;
      }
    });
  }

  /**
   * Records a rejection and, when it reaches RESTORE_REJECTIONS, moves the request to
   * `rejected` in the same transaction; `rejected` is true for exactly one caller.
   */
  reject(id: number, userId: string, at: number): { added: boolean; rejected: boolean } {
    return this.db.transaction(() => {
      const req = this.stmts.byIdLocked.get(id) as Row | undefined;
      if (!req || req.state !== 'pending') return { added: false, rejected: false };
      const added = this.stmts.addRejection.run(id, userId, at).changes === 1;
      const n = (this.stmts.countRejections.get(id) as { n: number }).n;
      if (n < req.rejections_needed) return { added, rejected: false };
      const rejected = this.stmts.move.run({ id, from: 'pending', to: 'rejected', by: userId, decidedAt: at }).changes === 1;
      return { added, rejected };
    });
  }

  /** Moves a pending request to rejected/withdrawn; false when it was no longer pending. */
  decide(id: number, to: 'rejected' | 'withdrawn', by: string, at: number): boolean {
    return this.stmts.move.run({ id, from: 'pending', to, by, decidedAt: at }).changes === 1;
  }

  /**
   * Claims the one restore POST of an approved request, before sending it. True for exactly one
   * caller, and only while `epoch` is the leadership's: a request claimed once is never POSTed
   * again, by this leader or the next (after a crash it is followed, not re-sent).
   */
  claimPost(id: number, at: number, epoch: number): boolean {
    return this.stmts.claimPost.run({ id, at, epoch }).changes === 1;
  }

  /** `confirmed`: the manager answered the POST with a 2xx (false after an ambiguous answer or a restart). */
  markStarted(id: number, managerRestoreId: number | null, at: number, confirmed = managerRestoreId !== null): boolean {
    return this.stmts.start.run({ id, managerId: managerRestoreId, at, confirmed: confirmed ? 1 : 0 }).changes === 1;
  }

  finish(id: number, to: RestoreEnd, outcome: string, at: number): boolean {
    return this.stmts.finish.run({ id, to, outcome, at }).changes === 1;
  }

  /** The manager's id of a running restore, once the bot has found it in the manager's list. */
  setManagerRestoreId(id: number, managerRestoreId: number): boolean {
    return this.stmts.setManagerId.run(managerRestoreId, id).changes === 1;
  }

  /** Ends a pending request that can no longer run (its backup is gone); false if no longer pending. */
  closePending(id: number, outcome: string, at: number): boolean {
    return this.stmts.closePending.run({ id, outcome, at }).changes === 1;
  }

  /** Expires every pending request past its deadline; returns their ids. */
  expireDue(now: number): number[] {
    return (this.stmts.expire.all({ now }) as Array<{ id: number }>).map((r) => r.id);
  }

  inState(state: RestoreState): RestoreRequest[] {
    return (this.stmts.inState.all(state) as Row[]).map((r) => this.get(r.id) as RestoreRequest);
  }

  /** The approved or running restore holding the instance's lock, if any. */
  lockHolder(instance: string): RestoreRequest | undefined {
    const r = this.stmts.locking.get(instance) as Row | undefined;
    return r ? this.get(r.id) : undefined;
  }

  pendingCount(): number {
    return (this.stmts.countPending.get() as { n: number }).n;
  }
}


