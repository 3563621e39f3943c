import type { InstanceView, RestoreResponse, TriggerResponse } from './schemas';

/**
 * The port the rest of the bot depends on. The undici client implements it against a real
 * Backup Manager (or the simulator); unit tests may pass a stub.
 */
export interface BackupManagerApi {
  /**
   * POST /backup_agent/backup. Never retried: it is not idempotent. Every call has an overall
   * deadline; a `signal` may end it sooner (an abort after sending leaves it ambiguous).
   */
  triggerBackup(instanceGuid: string, options?: { signal?: AbortSignal }): Promise<TriggerResponse>;
  /**
   * GET /instances/:guid. Retried with backoff while the manager is unavailable, unless
   * `retry: false`; all attempts together end by the client's deadline or `signal`.
   */
  getInstance(instanceGuid: string, options?: { retry?: boolean; signal?: AbortSignal }): Promise<InstanceView>;
  /** POST /backup_agent/restores with numeric ids. Never retried. */
  triggerRestore(backupId: number, instanceId: number, options?: { signal?: AbortSignal }): Promise<RestoreResponse>;
  close(): Promise<void>;
}
