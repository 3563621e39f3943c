import type { BackupManagerApi, Capability, ReadOptions } from './api';
import type { BackupManagerClient, ExchangeCall } from './client';
import {
  InstanceConfigSchema,
  RestBackupListSchema,
  RestRestoreListSchema,
  RestRestoreResponseSchema,
  RestTriggerResponseSchema,
  restInstanceView,
  type InstanceConfig,
} from './rest-schemas';
import type { InstanceView, Restore, RestoreResponse, TriggerResponse } from './schemas';
import { quote, requireGuid, requireId } from './args';

/**
 * The port over the newer REST routes (paths and status codes of the public Go client
 * anynines/klutchio, clients/a9s-backup-manager/), through the legacy client's HTTP core: the
 * same pool, auth, timeouts, typed errors (404 → not found, 409 RestoreInProgress → conflict,
 * 422 BackupNonRestorableState → rejected) and scrubbing.
 */
export class RestBackupManagerAdapter implements BackupManagerApi {
  constructor(private readonly core: BackupManagerClient) {}

  generation(): 'rest' {
    return 'rest';
  }

  async triggerBackup(instanceGuid: string, options?: { signal?: AbortSignal }): Promise<TriggerResponse> {
    const guid = requireGuid(instanceGuid);
    return await this.core.exchange({
      ...(options?.signal ? { signal: options.signal } : {}),
      method: 'POST',
      route: '/instances/:guid/backups',
      path: `/instances/${encodeURIComponent(guid)}/backups`,
      schema: RestTriggerResponseSchema,
      action: `trigger a backup of instance ${quote(guid)}`,
      subject: `instance ${quote(guid)}`,
    });
  }

  /** Two reads, in parallel: the REST generation serves backups and restores apart. */
  async getInstance(instanceGuid: string, options: ReadOptions = {}): Promise<InstanceView> {
    const guid = requireGuid(instanceGuid);
    const [backups, restores] = await Promise.all([
      this.read(this.backupsCall(guid, options.signal), options),
      this.read(this.restoresCall(guid, options.signal), options),
    ]);
    return restInstanceView(guid, backups, restores);
  }

  /** `instanceId` is not used: the REST route names the instance by its guid. */
  async triggerRestore(backupId: number, _instanceId: number, instanceGuid?: string, options?: { signal?: AbortSignal }): Promise<RestoreResponse> {
    requireId('backupId', backupId);
    if (instanceGuid === undefined) throw new TypeError('the REST generation restores by instance guid; pass instanceGuid');
    const guid = requireGuid(instanceGuid);
    return await this.core.exchange({
      ...(options?.signal ? { signal: options.signal } : {}),
      method: 'POST',
      route: '/instances/:guid/backups/:id/restore',
      path: `/instances/${encodeURIComponent(guid)}/backups/${backupId}/restore`,
      schema: RestRestoreResponseSchema,
      action: `restore backup ${backupId} of instance ${quote(guid)}`,
      subject: `backup ${backupId} of instance ${quote(guid)}`,
      // 202 means started: an odd body must not make anyone believe it failed and send it again.
      fallback: { id: null, message: null },
    });
  }

  async getRestores(instanceGuid: string, options: ReadOptions = {}): Promise<Capability<Restore[]>> {
    const guid = requireGuid(instanceGuid);
    return { available: true, value: await this.read(this.restoresCall(guid, options.signal), options) };
  }

  async getConfig(instanceGuid: string, options: ReadOptions = {}): Promise<Capability<InstanceConfig>> {
    const guid = requireGuid(instanceGuid);
    const value = await this.read(
      {
        method: 'GET',
        route: '/instances/:guid/config',
        path: `/instances/${encodeURIComponent(guid)}/config`,
        schema: InstanceConfigSchema,
        action: `read the backup config of instance ${quote(guid)}`,
        subject: `instance ${quote(guid)}`,
        ...(options.signal ? { signal: options.signal } : {}),
      },
      options,
    );
    return { available: true, value };
  }

  close(): Promise<void> {
    return this.core.close();
  }

  private read<T>(call: ExchangeCall<T>, options: ReadOptions): Promise<T> {
    return this.core.exchange(call, options.retry === false ? { retry: false } : {});
  }

  private backupsCall(guid: string, signal: AbortSignal | undefined): ExchangeCall<InstanceView['backups']> {
    return {
      method: 'GET',
      route: '/instances/:guid/backups',
      path: `/instances/${encodeURIComponent(guid)}/backups`,
      schema: RestBackupListSchema,
      action: `read the backups of instance ${quote(guid)}`,
      subject: `instance ${quote(guid)}`,
      ...(signal ? { signal } : {}),
    };
  }

  private restoresCall(guid: string, signal: AbortSignal | undefined): ExchangeCall<Restore[]> {
    return {
      method: 'GET',
      route: '/instances/:guid/restores',
      path: `/instances/${encodeURIComponent(guid)}/restores`,
      schema: RestRestoreListSchema,
      action: `read the restores of instance ${quote(guid)}`,
      subject: `instance ${quote(guid)}`,
      ...(signal ? { signal } : {}),
    };
  }
}
