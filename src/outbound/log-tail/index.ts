export * from './parse';
export { LineSplitter } from './line-splitter';
export { followFile, type FollowFileOptions } from './follow-file';
export {
  followCommand,
  killRemainingCommands,
  type CommandExit,
  type CommandFollower,
  type FollowCommandOptions,
} from './follow-command';
export type { Follower } from './follower';
export * from './window';
export * from './source';
