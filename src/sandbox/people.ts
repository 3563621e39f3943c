import { DEFAULT_USERS, type SlackUser } from './fake-slack';

/**
 * Who approves restores in the sandbox when the operator set no RESTORE_APPROVERS: bob and
 * carol. With no list at all anyone but the requester could approve, and the page would not
 * show the two-person rule keeping an outsider out.
 */
export const SANDBOX_APPROVERS: readonly string[] = ['U0BOB', 'U0CAROL'];

export function sandboxApprovers(configured: readonly string[], approvalsNeeded: number): string[] {
  if (configured.length > 0) return [...configured];
  // RESTORE_APPROVALS=3 could never be met by two approvers: then anyone but the requester, as without a list.
  return approvalsNeeded <= SANDBOX_APPROVERS.length ? [...SANDBOX_APPROVERS] : [];
}

/** The part each person plays in the sandbox's story, before the approver list is applied. */
const STORY: Readonly<Record<string, 'operator' | 'outsider'>> = { U0ALICE: 'operator', U0EVE: 'outsider' };

/**
 * What a person may do, as the "You are" picker shows it ("bob — approver", "eve — outsider
 * (can not approve)"). Derived from the approver list the bot really enforces, so the label
 * can not promise what a click would then refuse.
 */
export function roleLabel(userId: string, approvers: readonly string[]): string {
  const approves = approvers.length === 0 || approvers.includes(userId);
  const story = STORY[userId];
  if (story === 'operator') return approves ? 'operator (asks for and approves restores)' : 'operator (asks for restores)';
  if (story === 'outsider') return approves ? 'outsider (can approve)' : 'outsider (can not approve)';
  return approves ? 'approver' : 'member (can not approve)';
}

/** The sandbox's people, each titled by what they may do under `approvers`. */
export function sandboxPeople(approvers: readonly string[], users: readonly SlackUser[] = DEFAULT_USERS): SlackUser[] {
  return users.map((u) => (u.isBot ? u : { ...u, title: roleLabel(u.id, approvers) }));
}
