import type { InstanceConfig } from './rest-schemas';
import type { InstanceView, Restore, RestoreResponse, TriggerResponse } from './schemas';

/** The two route generations of the Backup Manager: the seed's (`/backup_agent/…`) and the newer resource routes. */
export type ApiGeneration = 'legacy' | 'rest';
/** BACKUP_MANAGER_API: `auto` (default) finds out which generation the manager serves. */
export const API_MODES = ['auto', 'legacy', 'rest'] as const;
export type ApiMode = (typeof API_MODES)[number];

/** 'unknown': not found out yet, or the manager did not answer the last detection. */
export type DetectedGeneration = ApiGeneration | 'unknown';

/** What an adapter can do beyond the core: the legacy generation has no per-instance config, for one. */
export type Capability<T> = { available: true; value: T } | { available: false; reason: string };

export interface ReadOptions {
  retry?: boolean;
  signal?: AbortSignal;
}

/**
 * The port the rest of the bot depends on. Two adapters implement it against a real Backup
 * Manager (or the simulator), one per route generation, mapping both to the same domain types;
 * generation.ts picks one. Unit tests may pass a stub (the optional methods may be left out).
 */
export interface BackupManagerApi {
  /**
   * POST /backup_agent/backup or /instances/:guid/backups. Never retried: it is not idempotent.
   * Every call has an overall deadline; a `signal` may end it sooner (an abort after sending
   * leaves it ambiguous).
   */
  triggerBackup(instanceGuid: string, options?: { signal?: AbortSignal }): Promise<TriggerResponse>;
  /**
   * GET /instances/:guid (legacy; REST: its backups and restores). Retried with backoff while
   * the manager is unavailable, unless `retry: false`; all attempts together end by the
   * client's deadline or `signal`.
   */
  getInstance(instanceGuid: string, options?: ReadOptions): Promise<InstanceView>;
  /**
   * POST /backup_agent/restores with numeric ids (legacy) or /instances/:guid/backups/:id/restore
   * (REST, which needs `instanceGuid` and has no numeric instance id). Never retried.
   */
  triggerRestore(backupId: number, instanceId: number, instanceGuid?: string, options?: { signal?: AbortSignal }): Promise<RestoreResponse>;
  /** The instance's restores, each with its own status (REST: GET /instances/:guid/restores). */
  getRestores?(instanceGuid: string, options?: ReadOptions): Promise<Capability<Restore[]>>;
  /** Retention and whether scheduled backups exclude the instance (REST only: GET /instances/:guid/config). */
  getConfig?(instanceGuid: string, options?: ReadOptions): Promise<Capability<InstanceConfig>>;
  /** The generation this client speaks now. */
  generation?(): DetectedGeneration;
  close(): Promise<void>;
}
