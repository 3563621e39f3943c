export { createFakeSlack, type FakeSlack, type FakeSlackOptions } from './fake-slack';
export { startFakeSlack, type StartedFakeSlack } from './server';
export type { Fault } from './faults';
export { APPROVERS_GROUP, BOT_ID, BOT_USER_ID, DEFAULT_CHANNELS, DEFAULT_TEAM, DEFAULT_USERGROUPS, DEFAULT_USERS, OPERATORS_GROUP, SLACKBOT_USER_ID } from './defaults';
export { RESPONSE_URL_MAX_USES } from './response-urls';
export type { Workspace } from './workspace';
export type * from './types';
