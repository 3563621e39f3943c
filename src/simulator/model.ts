import { createHash } from 'node:crypto';

/**
 * The Backup Manager's state, in memory, with no I/O: instances, backups, restores and the
 * a9s-pg restore outage. Time comes from an injected clock and chance from an injected random
 * source, so every transition is reproducible. Side effects (log lines, the listener going
 * away) are announced through `onEvent` and carried out by the server.
 */

export const A9S_PG = 'a9s-pg';

/** The seed's guid for a9s-pg, so a fresh simulator answers exactly like the seed. */
const A9S_PG_GUID = '99a44eaf-a310-4952-97d7-72492f989d0a';

export const TASK_STATUSES = ['queued', 'running', 'done', 'failed', 'deleted'] as const;
export type SimTaskStatus = (typeof TASK_STATUSES)[number];

export interface SimTask {
  /** The task's own id; a different number from `taskId`. */
  id: number;
  /** The id of the backup or restore this task works for. */
  taskId: number;
  status: SimTaskStatus;
  msg: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export type BackupOrigin = 'api' | 'schedule' | 'seed';

export interface SimBackup {
  id: number;
  /** e.g. `a9s-pg-1542859215559`. */
  backupId: string;
  instanceId: number;
  size: number | null;
  isDownloadable: boolean;
  origin: BackupOrigin;
  task: SimTask;
}

export interface SimRestore {
  id: number;
  instanceId: number;
  backupId: number;
  tasks: SimTask[];
}

export interface SimInstance {
  id: number;
  /** What the user types and what the routes take, e.g. `a9s-pg`. */
  name: string;
  guid: string;
  backups: SimBackup[];
  restores: SimRestore[];
  /** Served only by the REST generation (GET /instances/:guid/config). */
  config: SimInstanceConfig;
}

/** Field names of klutchio's GetInstanceConfigResponse; the defaults are an assumption. */
export interface SimInstanceConfig {
  retentionTimeDays: number;
  minBackupCount: number;
  minEncryptionKeyLength: number;
  excludeFromAutoBackup: boolean;
  backupType: string | null;
}

const DEFAULT_INSTANCE_CONFIG: SimInstanceConfig = {
  retentionTimeDays: 14,
  minBackupCount: 3,
  minEncryptionKeyLength: 8,
  excludeFromAutoBackup: false,
  backupType: null,
};

/** The a9s-pg restore in progress: the manager itself is gone until it ends. */
export interface PgRestore {
  restoreId: number;
  instance: string;
  backupId: number;
  stepsDone: number;
  steps: number;
  startedAt: Date;
}

export interface ForgottenBackup {
  instance: string;
  id: number;
  backupId: string;
}

export type TransitionKind = 'backup' | 'restore';

export type ModelEvent =
  | {
      type: 'transition';
      instance: string;
      kind: TransitionKind;
      id: number;
      /** null when the task was just created. */
      from: SimTaskStatus | null;
      to: SimTaskStatus;
    }
  | {
      /** What the backup agent on the instance's VM would log for a restore. */
      type: 'agent';
      instance: string;
      restoreId: number;
      phase: 'start' | 'progress' | 'success' | 'error';
      msg: string | null;
    }
  | { type: 'outage-start'; instance: string; restoreId: number; backupId: number }
  | {
      type: 'outage-end';
      instance: string;
      restoreId: number;
      backupId: number;
      outcome: 'success' | 'failed';
      msg: string | null;
      forgotten: ForgottenBackup[];
    };

export interface ModelOptions {
  now?: () => Date;
  random?: () => number;
  /** Steps an a9s-pg restore (and so the outage) lasts; at least 1. */
  restoreSteps?: number;
  /** Chance (0..1) that a finishing backup or restore fails on its own. */
  failureRate?: number;
  onEvent?: (event: ModelEvent) => void;
}

export type RestoreRequestResult =
  | { ok: true; restoreId: number; outage: boolean }
  | { ok: false; status: number; error: string; description: string };

export interface SeedBackupOptions {
  status: SimTaskStatus;
  size?: number | null;
  msg?: string | null;
  createdAt?: Date | string;
}

export interface SeedRestoreOptions {
  backupId: number;
  status: SimTaskStatus;
  msg?: string | null;
  createdAt?: Date | string;
}

const RANDOM_FAILURE_MESSAGES = [
  'pg_dump: error: connection to server was lost',
  'upload to the backup store failed: 503 Slow Down',
  'backup agent did not answer within 300 seconds',
];

export class UnknownInstanceError extends Error {
  constructor(readonly instance: string) {
    super(`no instance "${instance}"`);
    this.name = 'UnknownInstanceError';
  }
}

export class SimulatorModel {
  private readonly instances = new Map<string, SimInstance>();
  private readonly now: () => Date;
  private readonly random: () => number;
  private readonly restoreSteps: number;
  private readonly failureRate: number;
  private readonly onEvent: (event: ModelEvent) => void;
  private readonly failNext = { backup: new Map<string, string>(), restore: new Map<string, string>() };
  // Start where the seed's numbers are, so a fresh simulator looks like the documented one.
  private nextInstanceId = 38;
  private nextBackupId = 148;
  private nextTaskId = 156;
  private nextRestoreId = 12;
  private pg: PgRestore | null = null;

  constructor(options: ModelOptions = {}) {
    this.now = options.now ?? (() => new Date());
    this.random = options.random ?? Math.random;
    this.restoreSteps = Math.max(1, Math.floor(options.restoreSteps ?? 3));
    this.failureRate = options.failureRate ?? 0;
    this.onEvent = options.onEvent ?? (() => undefined);
    this.addInstance(A9S_PG);
  }

  /** The a9s-pg restore in progress, if any. */
  get outage(): Readonly<PgRestore> | null {
    return this.pg;
  }

  addInstance(name: string): SimInstance {
    const existing = this.instances.get(name);
    if (existing) return existing;
    const instance: SimInstance = {
      id: this.nextInstanceId++,
      name,
      guid: name === A9S_PG ? A9S_PG_GUID : guidFor(name),
      backups: [],
      restores: [],
      config: { ...DEFAULT_INSTANCE_CONFIG },
    };
    this.instances.set(name, instance);
    return instance;
  }

  /** By name (`a9s-pg`) or by guid, as the manager's route accepts either. */
  findInstance(nameOrGuid: string): SimInstance | undefined {
    const byName = this.instances.get(nameOrGuid);
    if (byName) return byName;
    for (const instance of this.instances.values()) if (instance.guid === nameOrGuid) return instance;
    return undefined;
  }

  setInstanceConfig(name: string, config: Partial<SimInstanceConfig>): void {
    const instance = this.require(name);
    instance.config = { ...instance.config, ...config };
  }

  instanceNames(): string[] {
    return [...this.instances.keys()];
  }

  triggerBackup(name: string, origin: BackupOrigin = 'api'): SimBackup {
    const instance = this.require(name);
    const at = this.now();
    const backup = this.newBackup(instance, at, origin, 'queued', null, null);
    this.emitTransition(instance, 'backup', backup.id, null, 'queued');
    return backup;
  }

  seedBackup(name: string, options: SeedBackupOptions): SimBackup {
    const instance = this.require(name);
    const at = options.createdAt === undefined ? this.now() : new Date(options.createdAt);
    if (Number.isNaN(at.getTime())) throw new RangeError(`createdAt is not a date: ${String(options.createdAt)}`);
    const size = options.size !== undefined ? options.size : options.status === 'done' ? this.randomSize() : null;
    return this.newBackup(instance, at, 'seed', options.status, size, options.msg ?? null);
  }

  seedRestore(name: string, options: SeedRestoreOptions): SimRestore {
    const instance = this.require(name);
    const at = options.createdAt === undefined ? this.now() : new Date(options.createdAt);
    if (Number.isNaN(at.getTime())) throw new RangeError(`createdAt is not a date: ${String(options.createdAt)}`);
    const id = this.nextRestoreId++;
    const task = this.newTask(id, at);
    task.status = options.status;
    task.msg = options.msg ?? null;
    const restore: SimRestore = { id, instanceId: instance.id, backupId: options.backupId, tasks: [task] };
    instance.restores.push(restore);
    return restore;
  }

  deleteBackup(name: string, id: number): void {
    const instance = this.require(name);
    const backup = instance.backups.find((b) => b.id === id);
    if (!backup) throw new RangeError(`instance "${name}" has no backup ${id}`);
    this.move(instance, 'backup', backup.id, backup.task, 'deleted', backup.task.msg);
  }

  /** The next backup of `name` to finish fails with `msg`, whether it exists yet or not. */
  failNextBackup(name: string, msg: string): void {
    this.require(name);
    this.failNext.backup.set(name, msg);
  }

  failNextRestore(name: string, msg: string): void {
    this.require(name);
    this.failNext.restore.set(name, msg);
  }

  requestRestore(instanceId: number, backupId: number): RestoreRequestResult {
    const instance = [...this.instances.values()].find((i) => i.id === instanceId);
    if (!instance) {
      return { ok: false, status: 404, error: 'InstanceNotFound', description: `No instance with id ${instanceId}.` };
    }
    const backup = instance.backups.find((b) => b.id === backupId);
    if (!backup) {
      return {
        ok: false,
        status: 404,
        error: 'BackupNotFound',
        description: `No backup with id ${backupId} for instance ${instance.name}.`,
      };
    }
    if (backup.task.status !== 'done') {
      return {
        ok: false,
        status: 422,
        error: 'BackupNonRestorableState',
        description: `Backup ${backupId} is ${backup.task.status}; only a done backup can be restored.`,
      };
    }
    const busy = (this.pg && this.pg.instance === instance.name) || instance.restores.some((r) => isActive(lastTask(r).status));
    if (busy) {
      return {
        ok: false,
        status: 409,
        error: 'RestoreInProgress',
        description: `A restore of instance ${instance.name} is already in progress.`,
      };
    }
    const at = this.now();
    const restoreId = this.nextRestoreId++;
    if (instance.name === A9S_PG) {
      // The restore record would live in the very database being replaced, so it is never kept.
      this.pg = { restoreId, instance: instance.name, backupId, stepsDone: 0, steps: this.restoreSteps, startedAt: at };
      this.emitTransition(instance, 'restore', restoreId, null, 'running');
      this.onEvent({ type: 'agent', instance: instance.name, restoreId, phase: 'start', msg: null });
      this.onEvent({ type: 'outage-start', instance: instance.name, restoreId, backupId });
      return { ok: true, restoreId, outage: true };
    }
    const task = this.newTask(restoreId, at);
    instance.restores.push({ id: restoreId, instanceId: instance.id, backupId, tasks: [task] });
    this.emitTransition(instance, 'restore', restoreId, null, 'queued');
    return { ok: true, restoreId, outage: false };
  }

  /**
   * Moves every active task one step (queued → running → done/failed). While a9s-pg is being
   * restored only that restore moves: the manager's own database is gone, so nothing else it
   * records can change.
   */
  step(): void {
    if (this.pg) {
      this.stepPgRestore(this.pg);
      return;
    }
    const work: Array<() => void> = [];
    for (const instance of this.instances.values()) {
      for (const backup of instance.backups) {
        if (isActive(backup.task.status)) work.push(() => this.stepBackup(instance, backup));
      }
      for (const restore of instance.restores) {
        if (isActive(lastTask(restore).status)) work.push(() => this.stepRestore(instance, restore));
      }
    }
    // Collected first so a task moves at most once per step, whatever the callbacks do.
    for (const run of work) run();
  }

  private stepBackup(instance: SimInstance, backup: SimBackup): void {
    const task = backup.task;
    if (task.status === 'queued') {
      this.move(instance, 'backup', backup.id, task, 'running', null);
      return;
    }
    const failure = this.takeFailure('backup', instance.name);
    if (failure !== null) {
      this.move(instance, 'backup', backup.id, task, 'failed', failure);
    } else {
      backup.size = this.randomSize();
      this.move(instance, 'backup', backup.id, task, 'done', null);
    }
  }

  private stepRestore(instance: SimInstance, restore: SimRestore): void {
    const task = lastTask(restore);
    const base = { type: 'agent' as const, instance: instance.name, restoreId: restore.id };
    if (task.status === 'queued') {
      this.move(instance, 'restore', restore.id, task, 'running', null);
      this.onEvent({ ...base, phase: 'start', msg: null });
      return;
    }
    const failure = this.takeFailure('restore', instance.name);
    this.move(instance, 'restore', restore.id, task, failure === null ? 'done' : 'failed', failure);
    this.onEvent({ ...base, phase: failure === null ? 'success' : 'error', msg: failure });
  }

  private stepPgRestore(pg: PgRestore): void {
    pg.stepsDone += 1;
    const base = { type: 'agent' as const, instance: pg.instance, restoreId: pg.restoreId };
    if (pg.stepsDone < pg.steps) {
      this.onEvent({ ...base, phase: 'progress', msg: null });
      return;
    }
    const failure = this.takeFailure('restore', pg.instance);
    this.onEvent({ ...base, phase: failure === null ? 'success' : 'error', msg: failure });
    // A failed restore leaves the old database in place, so nothing is forgotten.
    const forgotten = failure === null ? this.forgetAfter(pg.backupId) : [];
    this.pg = null;
    const instance = this.require(pg.instance);
    this.emitTransition(instance, 'restore', pg.restoreId, 'running', failure === null ? 'done' : 'failed');
    this.onEvent({
      type: 'outage-end',
      instance: pg.instance,
      restoreId: pg.restoreId,
      backupId: pg.backupId,
      outcome: failure === null ? 'success' : 'failed',
      msg: failure,
      forgotten,
    });
  }

  /**
   * The a9s-pg database holds the records of every instance, so restoring it to the time of
   * a backup drops every backup and restore recorded after that backup, on all instances.
   */
  private forgetAfter(backupId: number): ForgottenBackup[] {
    const restored = this.require(A9S_PG).backups.find((b) => b.id === backupId);
    if (!restored) return [];
    const cutoff = restored.task.createdAt.getTime();
    const isNewer = (at: Date, id: number): boolean => at.getTime() > cutoff || (at.getTime() === cutoff && id > restored.id);
    const forgotten: ForgottenBackup[] = [];
    for (const instance of this.instances.values()) {
      instance.backups = instance.backups.filter((b) => {
        if (!isNewer(b.task.createdAt, b.id)) return true;
        forgotten.push({ instance: instance.name, id: b.id, backupId: b.backupId });
        return false;
      });
      instance.restores = instance.restores.filter((r) => (r.tasks[0]?.createdAt.getTime() ?? 0) <= cutoff);
    }
    return forgotten;
  }

  private takeFailure(kind: 'backup' | 'restore', name: string): string | null {
    const planned = this.failNext[kind].get(name);
    if (planned !== undefined) {
      this.failNext[kind].delete(name);
      return planned;
    }
    if (this.failureRate > 0 && this.random() < this.failureRate) {
      const i = Math.floor(this.random() * RANDOM_FAILURE_MESSAGES.length);
      return RANDOM_FAILURE_MESSAGES[Math.min(i, RANDOM_FAILURE_MESSAGES.length - 1)] ?? 'failed';
    }
    return null;
  }

  private newBackup(
    instance: SimInstance,
    at: Date,
    origin: BackupOrigin,
    status: SimTaskStatus,
    size: number | null,
    msg: string | null,
  ): SimBackup {
    const id = this.nextBackupId++;
    const task = this.newTask(id, at);
    task.status = status;
    task.msg = msg;
    const backup: SimBackup = {
      id,
      backupId: this.uniqueBackupId(instance, at),
      instanceId: instance.id,
      size,
      isDownloadable: false,
      origin,
      task,
    };
    instance.backups.push(backup);
    return backup;
  }

  /** The manager names backups by epoch ms; a frozen test clock must still get distinct names. */
  private uniqueBackupId(instance: SimInstance, at: Date): string {
    let ms = at.getTime();
    const taken = new Set(instance.backups.map((b) => b.backupId));
    while (taken.has(`${instance.name}-${ms}`)) ms += 1;
    return `${instance.name}-${ms}`;
  }

  private newTask(taskId: number, at: Date): SimTask {
    return { id: this.nextTaskId++, taskId, status: 'queued', msg: null, createdAt: at, updatedAt: at };
  }

  private move(instance: SimInstance, kind: TransitionKind, id: number, task: SimTask, to: SimTaskStatus, msg: string | null): void {
    const from = task.status;
    task.status = to;
    task.msg = msg;
    task.updatedAt = this.now();
    this.emitTransition(instance, kind, id, from, to);
  }

  private emitTransition(instance: SimInstance, kind: TransitionKind, id: number, from: SimTaskStatus | null, to: SimTaskStatus): void {
    this.onEvent({ type: 'transition', instance: instance.name, kind, id, from, to });
  }

  private randomSize(): number {
    return 40_000_000 + Math.floor(this.random() * 10_000_000);
  }

  private require(name: string): SimInstance {
    const instance = this.instances.get(name);
    if (!instance) throw new UnknownInstanceError(name);
    return instance;
  }
}

export function isActive(status: SimTaskStatus): boolean {
  return status === 'queued' || status === 'running';
}

function lastTask(restore: SimRestore): SimTask {
  const task = restore.tasks[restore.tasks.length - 1];
  if (!task) throw new Error(`restore ${restore.id} has no task`);
  return task;
}

/** A stable uuid-shaped guid per name, so runs and tests see the same values. */
function guidFor(name: string): string {
  const h = createHash('sha1').update(`pgbackup-sim:${name}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
