/**
 * Who may do what, where: pure rules over the configuration and the user groups resolved
 * for this check. Nothing here reads Slack; a group that could not be read is `undefined`,
 * and a decision that would depend on it is refused (fail closed).
 */

/** `use`: list, status and the channel check of every click; `operate`: now and restore requests; `approve`: approve or reject. */
export type Permission = 'use' | 'operate' | 'approve';

export interface AccessRules {
  /** Empty: every channel. */
  allowedChannels: readonly string[];
  /** User and user group ids; empty: anyone. */
  operators: readonly string[];
  /** User and user group ids; empty: anyone (but the requester, which the restore rules check). */
  approvers: readonly string[];
}

/** Members of each group looked up for this check; `undefined`: the group could not be read. */
export type GroupMembers = ReadonlyMap<string, ReadonlySet<string> | undefined>;

export type Refusal =
  | { reason: 'channel'; allowedChannels: readonly string[] }
  | { reason: 'not-operator' }
  | { reason: 'not-approver' }
  | { reason: 'membership-unknown'; groups: string[] };

export type Verdict = { allowed: true } | ({ allowed: false } & Refusal);
export type Refused = Exclude<Verdict, { allowed: true }>;

export const isGroup = (id: string): boolean => id.startsWith('S');

function listFor(rules: AccessRules, permission: Permission): readonly string[] {
  if (permission === 'operate') return rules.operators;
  if (permission === 'approve') return rules.approvers;
  return [];
}

/**
 * The groups whose members decide this check: none when the user is listed by id (or the
 * list is empty), so a listed person is never refused because Slack is down.
 */
export function groupsToResolve(rules: AccessRules, user: string, permission: Permission): string[] {
  const list = listFor(rules, permission);
  if (list.length === 0 || list.includes(user)) return [];
  return list.filter(isGroup);
}

export function channelAllowed(rules: AccessRules, channel: string): boolean {
  return rules.allowedChannels.length === 0 || rules.allowedChannels.includes(channel);
}

export function authorize(rules: AccessRules, request: { user: string; channel: string; permission: Permission }, groups: GroupMembers): Verdict {
  if (!channelAllowed(rules, request.channel)) return { allowed: false, reason: 'channel', allowedChannels: rules.allowedChannels };
  const list = listFor(rules, request.permission);
  if (list.length === 0 || list.includes(request.user)) return { allowed: true };
  const unknown: string[] = [];
  for (const group of list.filter(isGroup)) {
    const members = groups.get(group);
    if (members === undefined) unknown.push(group);
    else if (members.has(request.user)) return { allowed: true };
  }
  // Membership in a group we could not read is neither proven nor disproven: refuse, and say why.
  if (unknown.length > 0) return { allowed: false, reason: 'membership-unknown', groups: unknown };
  return { allowed: false, reason: request.permission === 'approve' ? 'not-approver' : 'not-operator' };
}
