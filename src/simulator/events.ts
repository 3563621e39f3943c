import type { IncomingHttpHeaders } from 'node:http';
import type { ForgottenBackup, SimTaskStatus, TransitionKind } from './model';

/** What a test can wait for instead of sleeping. */

export interface RecordedRequest {
  method: string;
  /** Without the query string. */
  path: string;
  /** `?a=b`, or '' */
  query: string;
  /** As received, except that `authorization` is replaced by a marker: tests check `authorized`. */
  headers: IncomingHttpHeaders;
  /** The parsed JSON body; the raw text when it is not JSON; undefined when empty. */
  body: unknown;
  rawBody: string;
  authorized: boolean;
  at: Date;
}

export interface TransitionEvent {
  instance: string;
  kind: TransitionKind;
  /** The backup's or restore's id. */
  id: number;
  /** null when the backup or restore was just created. */
  from: SimTaskStatus | null;
  to: SimTaskStatus;
}

export type OutageStartEvent =
  | { reason: 'restore'; instance: string; restoreId: number; backupId: number }
  | { reason: 'fault' };

export type OutageEndEvent =
  | {
      reason: 'restore';
      instance: string;
      restoreId: number;
      backupId: number;
      outcome: 'success' | 'failed';
      msg: string | null;
      /** Backups recorded after the restored one, which the manager no longer knows. */
      forgotten: ForgottenBackup[];
    }
  | { reason: 'fault' };

export interface SimulatorEventMap {
  request: [RecordedRequest];
  transition: [TransitionEvent];
  /** Emitted once the manager is really unreachable (listener closed, or answering 503). */
  'outage-start': [OutageStartEvent];
  /** Emitted once the manager answers again. */
  'outage-end': [OutageEndEvent];
  'log-line': [string];
  /** Problems of timer-driven work (e.g. the port could not be taken back); only if listened to. */
  error: [Error];
}
