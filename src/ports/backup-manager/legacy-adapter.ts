import type { BackupManagerApi, Capability, ReadOptions } from './api';
import { requireGuid } from './args';
import type { BackupManagerClient } from './client';
import type { InstanceConfig } from './rest-schemas';
import type { InstanceView, Restore, RestoreResponse, TriggerResponse } from './schemas';

/**
 * The port over the seed's routes: the legacy client (client.ts) plus what the port asks
 * beyond it. Restores come from the instance view (same domain type, one read); the
 * per-instance config is not served by this generation.
 */
export class LegacyBackupManagerAdapter implements BackupManagerApi {
  constructor(private readonly core: BackupManagerClient) {}

  generation(): 'legacy' {
    return 'legacy';
  }

  triggerBackup(instanceGuid: string, options?: { signal?: AbortSignal }): Promise<TriggerResponse> {
    return this.core.triggerBackup(instanceGuid, options);
  }

  getInstance(instanceGuid: string, options?: ReadOptions): Promise<InstanceView> {
    return this.core.getInstance(instanceGuid, options);
  }

  /**
   * A request prepared over the REST generation carries no numeric instance id (0): it is
   * looked up by guid with a read before the POST, never guessed.
   */
  async triggerRestore(backupId: number, instanceId: number, instanceGuid?: string, options?: { signal?: AbortSignal }): Promise<RestoreResponse> {
    if (instanceId === 0 && instanceGuid !== undefined) {
      const view = await this.core.getInstance(requireGuid(instanceGuid), options);
      return this.core.triggerRestore(backupId, view.id, undefined, options);
    }
    return this.core.triggerRestore(backupId, instanceId, undefined, options);
  }

  async getRestores(instanceGuid: string, options?: ReadOptions): Promise<Capability<Restore[]>> {
    return { available: true, value: (await this.core.getInstance(instanceGuid, options)).restores };
  }

  getConfig(): Promise<Capability<InstanceConfig>> {
    return Promise.resolve({ available: false, reason: 'the Backup Manager serves no per-instance config on its legacy routes' });
  }

  close(): Promise<void> {
    return this.core.close();
  }
}
