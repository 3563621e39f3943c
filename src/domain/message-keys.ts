/**
 * The identity of every message the bot writes: the outbox key (idempotency: a key is sent at
 * most once, so it names the message *and* the state it shows), the job's priority, and the
 * ref the outbox reports back once Slack answered. Keys are stored with pending jobs and
 * matched against Slack's message metadata after a restart: their text must never change.
 */

/** Bottleneck priorities (lower goes first). */
export const PRIORITY = {
  /** Restore cards: two people are waiting to decide on them. */
  decision: 1,
  normal: 5,
} as const;
export type Priority = (typeof PRIORITY)[keyof typeof PRIORITY];

/** Reactions to a sent message, by what the message is: `<name>:<id>` in a job's ref. */
export const REF_NAMES = ['task-parent', 'restore-card', 'restore-followup', 'restore-audit'] as const;
export type RefName = (typeof REF_NAMES)[number];

export interface MessageId {
  key: string;
  priority: Priority;
  /** Set on the first post of a message whose ts is needed later (to edit it, to thread under it). */
  ref?: string;
}

export const refFor = (name: RefName, id: number): string => `${name}:${id}`;

/** The ref of a stored job, read back; undefined for one this version does not know. */
export function parseRef(ref: string): { name: RefName; id: number } | undefined {
  const sep = ref.lastIndexOf(':');
  const name = ref.slice(0, sep);
  const id = Number(ref.slice(sep + 1));
  if (sep < 0 || !Number.isInteger(id) || !(REF_NAMES as readonly string[]).includes(name)) return undefined;
  return { name: name as RefName, id };
}

const normal = (key: string, ref?: string): MessageId => (ref === undefined ? { key, priority: PRIORITY.normal } : { key, priority: PRIORITY.normal, ref });

/** Approvals, and rejections only when there are some (older keys, from before rejections counted, stay as they were). */
const votes = (approvals: number, rejections: number): string => `${approvals}${rejections > 0 ? `:r${rejections}` : ''}`;

// Backup tasks: a parent message in the channel, one thread reply per transition.

export const taskParent = (taskId: number): MessageId => normal(`task:${taskId}:parent`, refFor('task-parent', taskId));

/** An edit of the parent; `at` names the transition, so a status seen again later is a new edit. */
export const taskParentUpdate = (taskId: number, status: string, at: number): MessageId => normal(`task:${taskId}:parent:${status}@${at}`);

export const taskReply = (taskId: number, status: string, at: number): MessageId => normal(`task:${taskId}:reply:${status}@${at}`);

/** The reply posted once the parent has landed, for the status the task had then. */
export const taskFirstReply = (taskId: number, status: string): MessageId => normal(`task:${taskId}:reply:${status}`);

// Restore requests: the card (decided on), its thread, the follow-up, and one audit message.

export const restoreCard = (requestId: number): MessageId => ({ key: `restore:${requestId}:card`, priority: PRIORITY.decision, ref: refFor('restore-card', requestId) });

export const restoreCardUpdate = (requestId: number, state: string, approvals: number, rejections: number): MessageId => ({
  key: `restore:${requestId}:card:${state}:${votes(approvals, rejections)}`,
  priority: PRIORITY.decision,
});

export const restoreOutcome = (requestId: number, state: string): MessageId => normal(`restore:${requestId}:outcome:${state}`);

export const restoreAudit = (requestId: number): MessageId => normal(`restore:${requestId}:audit`, refFor('restore-audit', requestId));

export const restoreAuditUpdate = (requestId: number, state: string, approvals: number, rejections: number, linked: boolean): MessageId =>
  normal(`restore:${requestId}:audit:${state}:${votes(approvals, rejections)}${linked ? ':link' : ''}`);

/** The note that following starts; a resumed follow-up (after a restart) gets a note of its own. */
export const restoreNote = (requestId: number, resumedAt?: number): MessageId =>
  normal(`restore:${requestId}:note:${resumedAt === undefined ? 'start' : `resumed:${resumedAt}`}`);

export const restoreFollowup = (requestId: number): MessageId => normal(`restore:${requestId}:followup`, refFor('restore-followup', requestId));

/** An edit of the follow-up: the final one, or the `n`th throttled one made at `at`. */
export const restoreFollowupEdit = (requestId: number, edit: 'final' | { at: number; n: number }): MessageId =>
  normal(`restore:${requestId}:followup:edit:${edit === 'final' ? 'final' : `${edit.at}-${edit.n}`}`);

export const restoreManagerDown = (requestId: number): MessageId => normal(`restore:${requestId}:manager-down`);

export const restoreSummary = (requestId: number): MessageId => normal(`restore:${requestId}:summary`);

// Notices in NOTIFY_CHANNEL and the requester's channel.

/** Claimed by whoever sees the failure first (tracking or the failure watch): announced once. */
export const failureNotice = (instance: string, backupId: number): MessageId => normal(`failure:${instance}:${backupId}`);

export const outageNotice = (since: number): MessageId => normal(`outage:${since}`);

export const recoveryNotice = (since: number): MessageId => normal(`recovery:${since}`);

/** A backup POST a previous run may have sent, whose backup never showed up. */
export const intentUnconfirmed = (intentId: number): MessageId => normal(`intent:${intentId}:unconfirmed`);
