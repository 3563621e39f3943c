import type { SimInstance } from './model';
import { errorBody, type RouteContext, type RouteRequest, type RouteResult } from './routes';
import { renderRestBackup, renderRestBackups, renderRestConfig, renderRestRestore, renderRestRestores } from './rest-view';

/**
 * The newer REST routes (paths and status codes of the public Go client anynines/klutchio,
 * clients/a9s-backup-manager/), over the same model as the legacy routes. Returns null when
 * no REST route matches, so the server can try the legacy routes next.
 */

const INSTANCE = '([^/]+)';
const ID = '([0-9]+)';
const PATTERNS = {
  backups: new RegExp(`^/instances/${INSTANCE}/backups/?$`),
  backup: new RegExp(`^/instances/${INSTANCE}/backups/${ID}/?$`),
  restore: new RegExp(`^/instances/${INSTANCE}/backups/${ID}/restore/?$`),
  restores: new RegExp(`^/instances/${INSTANCE}/restores/?$`),
  restoreOne: new RegExp(`^/instances/${INSTANCE}/restores/${ID}/?$`),
  config: new RegExp(`^/instances/${INSTANCE}/config/?$`),
};

export function restRoute(ctx: RouteContext, req: RouteRequest): RouteResult | null {
  const method = req.method.toUpperCase();
  const m = (pattern: RegExp): { instance: string; id: number } | null => {
    const match = pattern.exec(req.path);
    if (!match?.[1]) return null;
    return { instance: decodeURIComponent(match[1]), id: match[2] === undefined ? 0 : Number(match[2]) };
  };
  let hit: { instance: string; id: number } | null;
  if ((hit = m(PATTERNS.backups))) {
    if (method === 'GET') return withInstance(ctx, hit.instance, (i) => ok(renderRestBackups(i, ctx.view)));
    if (method === 'POST') return triggerBackup(ctx, hit.instance);
    return notAllowed(method, req.path);
  }
  if ((hit = m(PATTERNS.restore))) {
    if (method === 'POST') return triggerRestore(ctx, hit.instance, hit.id);
    return notAllowed(method, req.path);
  }
  if ((hit = m(PATTERNS.backup)) && method === 'GET') {
    const id = hit.id;
    return withInstance(ctx, hit.instance, (i) => {
      const backup = i.backups.find((b) => b.id === id);
      return backup ? ok(renderRestBackup(backup, ctx.view)) : missing('BackupNotFound', `No backup with id ${id} for instance ${i.name}.`);
    });
  }
  if ((hit = m(PATTERNS.restores)) && method === 'GET') return withInstance(ctx, hit.instance, (i) => ok(renderRestRestores(i, ctx.view)));
  if ((hit = m(PATTERNS.restoreOne)) && method === 'GET') {
    const id = hit.id;
    return withInstance(ctx, hit.instance, (i) => {
      const restore = i.restores.find((r) => r.id === id);
      return restore ? ok(renderRestRestore(restore, ctx.view)) : missing('RestoreNotFound', `No restore with id ${id} for instance ${i.name}.`);
    });
  }
  if ((hit = m(PATTERNS.config)) && method === 'GET') return withInstance(ctx, hit.instance, (i) => ok(renderRestConfig(i.config)));
  return null;
}

function ok(body: unknown, status = 200): RouteResult {
  return { status, body };
}

function missing(error: string, description: string): RouteResult {
  return { status: 404, body: errorBody(error, description) };
}

function notAllowed(method: string, path: string): RouteResult {
  return { status: 405, body: errorBody('MethodNotAllowed', `${method} is not allowed on ${path}.`) };
}

function withInstance(ctx: RouteContext, guid: string, answer: (instance: SimInstance) => RouteResult): RouteResult {
  const instance = ctx.model.findInstance(guid);
  return instance ? answer(instance) : missing('InstanceNotFound', `No instance "${guid}".`);
}

/** No body: the Go client sends none. 201 like the legacy trigger (some versions answer 200). */
function triggerBackup(ctx: RouteContext, guid: string): RouteResult {
  return withInstance(ctx, guid, (instance) => {
    const backup = ctx.model.triggerBackup(instance.name, 'api');
    return ok({ id: backup.id, message: 'job to backup is queued' }, ctx.backupStatusCode);
  });
}

/** 202 `{id}`; 404 BackupNotFound, 422 BackupNonRestorableState, 409 RestoreInProgress from the model. */
function triggerRestore(ctx: RouteContext, guid: string, backupId: number): RouteResult {
  return withInstance(ctx, guid, (instance) => {
    const result = ctx.model.requestRestore(instance.id, backupId);
    if (!result.ok) return { status: result.status, body: errorBody(result.error, result.description) };
    return { status: 202, body: { id: result.restoreId }, closeConnection: result.outage };
  });
}
