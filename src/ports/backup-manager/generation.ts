import type { Logger } from 'pino';
import { z } from 'zod';
import type { ApiGeneration, ApiMode, BackupManagerApi, Capability, DetectedGeneration, ReadOptions } from './api';
import type { BackupManagerClient, ExchangeCall } from './client';
import { NotFoundError, UnavailableError } from '../../domain/manager-errors';
import { LegacyBackupManagerAdapter } from './legacy-adapter';
import { RestBackupManagerAdapter } from './rest-adapter';
import type { InstanceConfig } from './rest-schemas';
import type { InstanceView, Restore, RestoreResponse, TriggerResponse } from './schemas';

export type { ApiMode } from './api';

/** How one generation's probe went: served, not served (an unknown route), or no verdict (down, credentials, …). */
export type ProbeVerdict = 'served' | 'absent' | 'no-answer';

export interface Detection {
  api: DetectedGeneration;
  legacy: ProbeVerdict;
  rest: ProbeVerdict;
}

export interface GenerationClientOptions {
  mode: ApiMode;
  /** The HTTP core both adapters share (one pool, one set of credentials). */
  core: BackupManagerClient;
  /** The instance the probes read (DEFAULT_INSTANCE); whether it exists or not, the answer tells the generation. */
  probeInstance: string;
  logger: Logger;
  /** After a detection without verdict, calls go on with the fallback for this long before probing again. */
  retryDetectionMs?: number;
  /** A 404 makes the client probe again at most this often (an unknown instance asked for in a loop costs no more). */
  notFoundRedetectMs?: number;
  clock?: () => number;
}

/** A 404 with this error word comes from a route that exists (the instance is unknown); anything else is an unknown route. Assumed from the public client's errors. */
const ROUTE_EXISTS_404 = new Set(['InstanceNotFound']);

const ProbeBodySchema = z.union([
  z.array(z.unknown()).transform(() => ({ kind: 'list' as const })),
  z.object({ error: z.string() }).passthrough().transform((b) => ({ kind: 'error' as const, error: b.error })),
  z.object({ id: z.number(), instance_id: z.string() }).passthrough().transform(() => ({ kind: 'view' as const })),
]);
type ProbeBody = z.output<typeof ProbeBodySchema>;

/**
 * The port, delegating to the adapter of the generation in use. With `auto` the generation is
 * found out by two GETs (never a POST) before the first call, and again on the first call after
 * the manager was unavailable (or when the wiring calls `redetect()` on recovery). When both
 * generations answer, the legacy routes carry the use cases: their view has the numeric instance
 * id, the backup names and the failure messages, in one read; the REST routes still serve the
 * instance config. Until a detection has a verdict, calls go to the last generation found (the
 * legacy routes at first), so an outage looks exactly as it did before.
 */
export class GenerationClient implements BackupManagerApi {
  private readonly legacy: LegacyBackupManagerAdapter;
  private readonly rest: RestBackupManagerAdapter;
  private readonly log: Logger;
  private readonly clock: () => number;
  private readonly retryDetectionMs: number;
  private readonly notFoundRedetectMs: number;
  private lastNotFoundDetection = Number.NEGATIVE_INFINITY;
  private detected: Detection = { api: 'unknown', legacy: 'no-answer', rest: 'no-answer' };
  /** The generation calls go to while no detection has a verdict. */
  private fallback: ApiGeneration = 'legacy';
  private stale = true;
  private lastFailedDetection = Number.NEGATIVE_INFINITY;
  private detecting: Promise<Detection> | undefined;
  private verdictless = false;

  constructor(private readonly options: GenerationClientOptions) {
    this.legacy = new LegacyBackupManagerAdapter(options.core);
    this.rest = new RestBackupManagerAdapter(options.core);
    this.log = options.logger.child({ component: 'api-generation' });
    this.clock = options.clock ?? Date.now;
    this.retryDetectionMs = options.retryDetectionMs ?? 2_000;
    this.notFoundRedetectMs = options.notFoundRedetectMs ?? 60_000;
    if (options.mode !== 'auto') {
      this.detected = { api: options.mode, legacy: 'no-answer', rest: 'no-answer' };
      this.stale = false;
    }
  }

  /** What /readyz shows: the generation in use, 'unknown' until the first detection with a verdict. */
  generation(): DetectedGeneration {
    return this.detected.api;
  }

  /** The last detection's details (auto only; a fixed mode reports no probes). */
  lastDetection(): Detection {
    return { ...this.detected };
  }

  /** Finds out again now (GETs only); a fixed mode returns at once. Concurrent calls share one detection. */
  redetect(): Promise<Detection> {
    if (this.options.mode !== 'auto') return Promise.resolve(this.lastDetection());
    this.detecting ??= this.detect().finally(() => {
      this.detecting = undefined;
    });
    return this.detecting;
  }

  async triggerBackup(instanceGuid: string, options?: { signal?: AbortSignal }): Promise<TriggerResponse> {
    return this.through('write', async (api) => api.triggerBackup(instanceGuid, options));
  }

  async getInstance(instanceGuid: string, options?: ReadOptions): Promise<InstanceView> {
    return this.through('read', async (api) => api.getInstance(instanceGuid, options));
  }

  async triggerRestore(backupId: number, instanceId: number, instanceGuid?: string, options?: { signal?: AbortSignal }): Promise<RestoreResponse> {
    return this.through('write', async (api) => api.triggerRestore(backupId, instanceId, instanceGuid, options));
  }

  async getRestores(instanceGuid: string, options?: ReadOptions): Promise<Capability<Restore[]>> {
    return this.through('read', async (api) => api.getRestores(instanceGuid, options));
  }

  /** From the REST routes whenever they answer, even while the legacy routes carry the use cases. */
  async getConfig(instanceGuid: string, options?: ReadOptions): Promise<Capability<InstanceConfig>> {
    return this.through('read', async (api) => (this.detected.rest === 'served' ? this.rest : api).getConfig(instanceGuid, options));
  }

  close(): Promise<void> {
    return this.options.core.close();
  }

  private adapter(): LegacyBackupManagerAdapter | RestBackupManagerAdapter {
    const generation = this.detected.api === 'unknown' ? this.fallback : this.detected.api;
    return generation === 'rest' ? this.rest : this.legacy;
  }

  /**
   * Runs `work` on the adapter in use. A 404 may mean the manager was upgraded (or rolled back)
   * while nobody asked: the generation is found out again, and a read is repeated once if it
   * changed. A write is not repeated: its 404 is an answer, and sending a POST twice is never
   * done without a person deciding.
   */
  private async through<T>(kind: 'read' | 'write', work: (api: LegacyBackupManagerAdapter | RestBackupManagerAdapter) => Promise<T>): Promise<T> {
    const auto = this.options.mode === 'auto';
    let detectedNow = false;
    if (auto && this.stale && this.clock() - this.lastFailedDetection >= this.retryDetectionMs) {
      await this.redetect();
      detectedNow = true;
    }
    const used = this.adapter();
    try {
      return await work(used);
    } catch (err) {
      // The manager went away: what answers when it is back may be another version.
      if (auto && err instanceof UnavailableError) this.stale = true;
      if (!auto || detectedNow || !(err instanceof NotFoundError)) throw err;
      if (this.clock() - this.lastNotFoundDetection < this.notFoundRedetectMs) throw err;
      this.lastNotFoundDetection = this.clock();
      await this.redetect();
      const now = this.adapter();
      if (now === used || kind === 'write') throw err;
      return await work(now);
    }
  }

  private async detect(): Promise<Detection> {
    const guid = encodeURIComponent(this.options.probeInstance);
    const [legacy, rest] = await Promise.all([this.probe(`/instances/${guid}`, '/instances/:guid', 'view'), this.probe(`/instances/${guid}/backups`, '/instances/:guid/backups', 'list')]);
    const api: DetectedGeneration = legacy === 'served' ? 'legacy' : rest === 'served' ? 'rest' : 'unknown';
    const before = this.detected;
    if (api === 'unknown') {
      this.lastFailedDetection = this.clock();
      // Keep using (and showing) what was found before: an outage is not a change of version.
      this.detected = { ...before, legacy, rest };
      const neither = legacy === 'absent' && rest === 'absent';
      // Once per spell without a verdict: an outage would otherwise repeat it every few seconds.
      const level = this.verdictless ? 'debug' : 'warn';
      this.verdictless = true;
      this.log[level](
        { legacy, rest, using: before.api === 'unknown' ? this.fallback : before.api },
        neither
          ? 'Backup Manager answered neither API generation; set BACKUP_MANAGER_API if this persists'
          : 'Backup Manager API generation not found out yet; trying again on a later call',
      );
      return this.lastDetection();
    }
    this.stale = false;
    this.verdictless = false;
    this.fallback = api;
    this.detected = { api, legacy, rest };
    if (before.api !== api) this.log.info({ api, legacy, rest, previous: before.api }, `Backup Manager API generation: ${api}`);
    return this.lastDetection();
  }

  /** One GET, never retried; a 404 is read, not thrown, to tell an unknown instance from an unknown route. */
  private async probe(path: string, route: string, served: 'view' | 'list'): Promise<ProbeVerdict> {
    const call: ExchangeCall<ProbeBody> = {
      method: 'GET',
      route,
      path,
      schema: ProbeBodySchema,
      action: `detect the API generation (GET ${route})`,
      subject: `route ${route}`,
      accept: [404],
    };
    try {
      const body = await this.options.core.exchange(call, { retry: false });
      if (body.kind === served) return 'served';
      if (body.kind === 'error' && ROUTE_EXISTS_404.has(body.error)) return 'served';
      return 'absent';
    } catch (err) {
      if (err instanceof UnavailableError) return 'no-answer';
      // A 404 that is not JSON (an HTML error page), or a 2xx of another shape: not this generation.
      if (err instanceof Error && 'kind' in err && err.kind === 'bad_response') return 'absent';
      return 'no-answer';
    }
  }
}
