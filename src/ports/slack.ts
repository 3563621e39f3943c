import type { types } from '@slack/bolt';

/** usergroups.users.list: the members of a user group (`S…`); rejects when Slack can not say. */
export type UsergroupMembersPort = (group: string) => Promise<readonly string[]>;

/** views.open: a modal on the screen of whoever holds the trigger. */
export interface ViewsPort {
  open(triggerId: string, view: types.ModalView): Promise<void>;
}
