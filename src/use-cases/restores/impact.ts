import { BackupManagerError, NotFoundError } from '../../domain/manager-errors';
import type { Backup, InstanceView } from '../../domain/backups';
import type { Deps } from '../deps';
import type { LaterBackupsOf } from '../../ports/store';
import { truncate } from '../../domain/text';
import { backupsAfter, compareAfterRestore, type ForgottenOf } from '../../domain/later-backups';

/** Reads per request: a long ALLOWED_INSTANCES must not hold the card back indefinitely. */
export const MAX_INSTANCE_READS = 30;

/** The instances the bot knows: configured (allowed, watched, default) or tracked; `first` leads. */
export function knownInstances(deps: Pick<Deps, 'config' | 'store'>, first: string): string[] {
  const { config, store } = deps;
  const others = new Set([...config.allowedInstances, ...config.watchInstances, config.defaultInstance, ...store.tasks.trackedInstances()]);
  others.delete(first);
  return [first, ...[...others].sort()];
}

/** A short, plain (unescaped) reason a read failed; never the request or its headers. */
export function readProblem(err: unknown): string {
  if (err instanceof NotFoundError) return 'the Backup Manager does not know it';
  if (err instanceof BackupManagerError) return truncate(err.message, 200);
  return 'an error inside the bot';
}

/**
 * What the card of an a9s-pg restore lists: per known instance, the backups made after the
 * chosen one. One read per other instance, all at once and without retries; a failed read is
 * recorded as such (the card says so) rather than failing the request.
 */
export async function readLaterBackups(
  deps: Pick<Deps, 'config' | 'store' | 'reader' | 'logger'>,
  restored: { instance: string; view: InstanceView; chosen: Backup },
): Promise<LaterBackupsOf[]> {
  const { instance: own, view, chosen } = restored;
  const point = { id: chosen.id, createdAt: chosen.task?.createdAt ?? null };
  const others = knownInstances(deps, own).slice(1);
  const read = others.slice(0, MAX_INSTANCE_READS);
  const results = await Promise.allSettled(read.map((i) => deps.reader.readNow(i, { retry: false })));
  const later: LaterBackupsOf[] = [{ instance: own, known: true, later: backupsAfter(view.backups, point) }];
  results.forEach((r, n) => {
    const instance = read[n] as string;
    if (r.status === 'fulfilled') later.push({ instance, known: true, later: backupsAfter(r.value.backups, point) });
    else {
      deps.logger.warn({ instance, kind: r.reason instanceof BackupManagerError ? r.reason.kind : 'internal' }, 'could not read an instance for the restore card');
      later.push({ instance, known: false, error: readProblem(r.reason) });
    }
  });
  for (const instance of others.slice(MAX_INSTANCE_READS)) {
    later.push({ instance, known: false, error: `not read: at most ${MAX_INSTANCE_READS} other instances are read per request` });
  }
  return later;
}

/**
 * After an a9s-pg restore: reads every other instance listed on the card again and compares
 * what each listed before with what it lists now. `restored.view` is a9s-pg's answer after it.
 */
export async function readForgotten(
  deps: Pick<Deps, 'reader'>,
  before: readonly LaterBackupsOf[],
  restored: { instance: string; view: InstanceView },
): Promise<ForgottenOf[]> {
  const after = new Map<string, InstanceView | Error>([[restored.instance, restored.view]]);
  const toRead = before.filter((b) => b.known && !after.has(b.instance)).map((b) => b.instance);
  const results = await Promise.allSettled(toRead.map((i) => deps.reader.readNow(i, { retry: false })));
  results.forEach((r, n) => {
    after.set(toRead[n] as string, r.status === 'fulfilled' ? r.value : new Error(readProblem(r.reason)));
  });
  return compareAfterRestore(before, after);
}
