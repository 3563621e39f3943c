import { z } from 'zod';
import { UnknownInstanceError, type SimulatorModel } from './model';
import { renderInstance, type ViewOptions } from './view';

/** The legacy routes of the seed, as a pure function from a request to an answer. */

export interface RouteRequest {
  method: string;
  path: string;
  contentType: string | undefined;
  rawBody: string;
}

export interface RouteResult {
  status: number;
  body: unknown;
  /** The connection must not be reused: the manager is about to go away. */
  closeConnection?: boolean;
}

export interface RouteContext {
  model: SimulatorModel;
  view: ViewOptions;
  /** 201 by default; some manager versions answer 200. */
  backupStatusCode: number;
}

const BackupRequestSchema = z.object({ instance_guid: z.string().min(1) });

// Numbers only, although Rails would coerce "148": the bot must send what the seed shows.
const RestoreRequestSchema = z.object({
  backup_id: z.number().int().positive(),
  instance_id: z.number().int().positive(),
});

export function errorBody(error: string, description: string): { error: string; description: string } {
  return { error, description };
}

export function route(ctx: RouteContext, req: RouteRequest): RouteResult {
  const method = req.method.toUpperCase();
  if (method === 'POST' && req.path === '/backup_agent/backup') return triggerBackup(ctx, req);
  if (method === 'POST' && req.path === '/backup_agent/restores') return triggerRestore(ctx, req);
  const instanceMatch = /^\/instances\/([^/]+)\/?$/.exec(req.path);
  if (method === 'GET' && instanceMatch?.[1] !== undefined) return showInstance(ctx, decodeURIComponent(instanceMatch[1]));
  return noRoute(method, req.path);
}

/** What a Rails app answers for a path it does not route: how detection tells a generation is absent. */
export function noRoute(method: string, path: string): RouteResult {
  return { status: 404, body: errorBody('NotFound', `No route matches ${method} ${path}.`) };
}

function showInstance(ctx: RouteContext, guid: string): RouteResult {
  const instance = ctx.model.findInstance(guid);
  if (!instance) return { status: 404, body: errorBody('InstanceNotFound', `No instance "${guid}".`) };
  return { status: 200, body: renderInstance(instance, ctx.view) };
}

function triggerBackup(ctx: RouteContext, req: RouteRequest): RouteResult {
  const parsed = parseBody(req, BackupRequestSchema);
  if (!parsed.ok) return parsed.result;
  try {
    const backup = ctx.model.triggerBackup(parsed.value.instance_guid, 'api');
    return { status: ctx.backupStatusCode, body: { id: backup.id, message: 'job to backup is queued' } };
  } catch (err) {
    if (err instanceof UnknownInstanceError) {
      return { status: 404, body: errorBody('InstanceNotFound', `No instance "${err.instance}".`) };
    }
    throw err;
  }
}

function triggerRestore(ctx: RouteContext, req: RouteRequest): RouteResult {
  const parsed = parseBody(req, RestoreRequestSchema);
  if (!parsed.ok) return parsed.result;
  const result = ctx.model.requestRestore(parsed.value.instance_id, parsed.value.backup_id);
  if (!result.ok) return { status: result.status, body: errorBody(result.error, result.description) };
  return {
    status: 201,
    body: { id: result.restoreId, message: 'job to restore is queued' },
    closeConnection: result.outage,
  };
}

type Parsed<T> = { ok: true; value: T } | { ok: false; result: RouteResult };

function parseBody<T>(req: RouteRequest, schema: z.ZodType<T>): Parsed<T> {
  const bad = (error: string, description: string, status = 400): Parsed<T> => ({
    ok: false,
    result: { status, body: errorBody(error, description) },
  });
  if (!/^application\/json\b/i.test(req.contentType ?? '')) {
    return bad('UnsupportedMediaType', 'Send the body as JSON with Content-Type: application/json.', 415);
  }
  let json: unknown;
  try {
    json = JSON.parse(req.rawBody);
  } catch {
    return bad('BadRequest', 'The request body is not valid JSON.');
  }
  const result = schema.safeParse(json);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ');
    return bad('BadRequest', `Invalid request body (${problems}).`);
  }
  return { ok: true, value: result.data };
}
