import type { SlackChannel, SlackUser, TeamInfo } from './types';

export const DEFAULT_TEAM: TeamInfo = { id: 'T0001', domain: 'example', name: 'Example' };

export const BOT_USER_ID = 'U0BOT';
export const BOT_ID = 'B0BOT';
export const BOT_NAME = 'pgbackup';
export const SLACKBOT_USER_ID = 'USLACKBOT';

export const DEFAULT_USERS: readonly SlackUser[] = [
  { id: 'U0ALICE', name: 'alice', realName: 'Alice Operator', title: 'operator', isBot: false },
  { id: 'U0BOB', name: 'bob', realName: 'Bob Approver', title: 'approver', isBot: false },
  { id: 'U0CAROL', name: 'carol', realName: 'Carol Approver', title: 'another approver', isBot: false },
  { id: 'U0EVE', name: 'eve', realName: 'Eve Outsider', title: 'outsider', isBot: false },
  { id: BOT_USER_ID, name: BOT_NAME, realName: 'pgbackup', title: 'a9s Backup Manager bot', isBot: true },
  { id: SLACKBOT_USER_ID, name: 'slackbot', realName: 'Slackbot', title: 'Slack', isBot: true },
];

const EVERYONE = ['U0ALICE', 'U0BOB', 'U0CAROL', 'U0EVE', BOT_USER_ID];

export const DEFAULT_CHANNELS: readonly SlackChannel[] = [
  { id: 'C0OPS', name: 'ops', topic: 'Database operations', members: EVERYONE },
  { id: 'C0ALERTS', name: 'backup-alerts', topic: 'Backup failures and restore audit trail', members: EVERYONE },
];

/** The sandbox's user groups: Alice operates, Bob and Carol approve, Eve is in neither. */
export const OPERATORS_GROUP = 'S0OPERATORS';
export const APPROVERS_GROUP = 'S0APPROVERS';
export const DEFAULT_USERGROUPS: Readonly<Record<string, readonly string[]>> = {
  [OPERATORS_GROUP]: ['U0ALICE'],
  [APPROVERS_GROUP]: ['U0BOB', 'U0CAROL'],
};
