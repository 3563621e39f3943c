import type { Refused } from '../../domain/access-policy';
import { renderNotice } from './help';
import type { SlackMessage } from './blocks';

const channelLink = (id: string) => `<#${id}>`;

/** The private answer to a refused command or click: why, and where or whom to ask instead. */
export function renderRefusal(refusal: Refused, what: string): SlackMessage {
  switch (refusal.reason) {
    case 'channel': {
      const where = refusal.allowedChannels.map(channelLink).join(', ');
      return renderNotice(`:no_entry: I do not take commands or buttons in this channel. Please ${what} in ${where}. Nothing was done.`);
    }
    case 'not-operator':
      return renderNotice(`:no_entry: You are not one of the operators allowed to ${what} (OPERATORS). Nothing was done.`);
    case 'not-approver':
      return renderNotice(`:no_entry: You are not one of the people allowed to approve or reject restores (RESTORE_APPROVERS). Nothing changed.`);
    case 'membership-unknown':
      return renderNotice(
        `:warning: I could not check your membership of the user group${refusal.groups.length === 1 ? '' : 's'} ${refusal.groups.join(', ')} with Slack, so I can not let you ${what} now. Nothing was done; try again in a moment.`,
      );
  }
}
