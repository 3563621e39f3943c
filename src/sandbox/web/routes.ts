import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { FakeSlack } from '../fake-slack';
import { BodyTooLargeError, mediaType, readBody, requestPath, sendJson } from '../http-util';
import { EventStream } from './event-stream';
import { ActionInput, CommandInput, MessageInput, postPlainMessage, runBlockAction, runSlashCommand, type InteractionDeps, type InteractionOutcome } from './interactions';
import { findPublicDir, serveStaticFile } from './static-files';
import { closeView, submitView, ViewCloseInput, ViewSubmitInput } from './views';
import { clickHome, HomeActionInput, HomeUserInput, openHome } from './home';

export interface SandboxRoutesOptions {
  fakeSlack: FakeSlack;
  signingSecret: string;
  /** The bot's own /slack/events URL; commands and clicks go there signed, as from Slack. */
  eventsUrl: string;
  teamId?: string;
  ackTimeoutMs?: number;
  /** Commands the page offers under its composer; asked for anew each time the page loads them. */
  examples?: () => string[];
  /** Defaults to src/sandbox/public under the project root. */
  publicDir?: string;
}

export interface SandboxRoutes {
  handle(req: IncomingMessage, res: ServerResponse): boolean;
  /** Ends the open event streams, so the host server can close. */
  close(): void;
}

const STATIC: Readonly<Record<string, string>> = {
  '/': 'index.html',
  '/index.html': 'index.html',
  '/sandbox/app.js': 'app.js',
  '/sandbox/app.css': 'app.css',
  '/sandbox/modal.js': 'modal.js',
  '/sandbox/modal.css': 'modal.css',
  '/sandbox/home.js': 'home.js',
};

const ViewUserInput = z.object({ user: z.string().min(1) });
const DismissInput = z.object({ user: z.string().min(1), ts: z.string().min(1) });

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Only JSON is accepted: a page on another site can send a form or text/plain to localhost
 * without asking, but not JSON, so this keeps other sites from typing commands here.
 */
async function readJson<T>(req: IncomingMessage, schema: z.ZodType<T>): Promise<T> {
  if (mediaType(req) !== 'application/json') throw new HttpError(415, 'send application/json');
  let json: unknown;
  try {
    json = JSON.parse(await readBody(req, 64 * 1024));
  } catch (error) {
    if (error instanceof BodyTooLargeError) throw new HttpError(413, error.message);
    throw new HttpError(400, 'body is not JSON');
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new HttpError(400, z.prettifyError(parsed.error));
  return parsed.data;
}

function sendOutcome(res: ServerResponse, outcome: InteractionOutcome): void {
  const { httpStatus, ...body } = outcome;
  sendJson(res, httpStatus, body);
}

export function createSandboxRoutes(options: SandboxRoutesOptions): SandboxRoutes {
  const publicDir = options.publicDir ?? findPublicDir();
  const stream = new EventStream(options.fakeSlack);
  const deps: InteractionDeps = {
    fakeSlack: options.fakeSlack,
    signingSecret: options.signingSecret,
    eventsUrl: options.eventsUrl,
    ...(options.teamId === undefined ? {} : { teamId: options.teamId }),
    ...(options.ackTimeoutMs === undefined ? {} : { ackTimeoutMs: options.ackTimeoutMs }),
  };

  const posts: Readonly<Record<string, (req: IncomingMessage, res: ServerResponse) => Promise<void>>> = {
    '/sandbox/command': async (req, res) => sendOutcome(res, await runSlashCommand(deps, await readJson(req, CommandInput))),
    '/sandbox/action': async (req, res) => sendOutcome(res, await runBlockAction(deps, await readJson(req, ActionInput))),
    '/sandbox/message': async (req, res) => sendOutcome(res, postPlainMessage(options.fakeSlack, await readJson(req, MessageInput))),
    '/sandbox/view/submit': async (req, res) => {
      const { httpStatus, ...body } = await submitView(deps, await readJson(req, ViewSubmitInput));
      sendJson(res, httpStatus, body);
    },
    '/sandbox/view/close': async (req, res) => {
      const closed = closeView(deps, await readJson(req, ViewCloseInput));
      sendJson(res, closed ? 200 : 404, { ok: closed });
    },
    '/sandbox/home/open': async (req, res) => sendOutcome(res, await openHome(deps, await readJson(req, HomeUserInput))),
    '/sandbox/home/action': async (req, res) => sendOutcome(res, await clickHome(deps, await readJson(req, HomeActionInput))),
    '/sandbox/home': async (req, res) => {
      // The Home last published for a person, for a page that (re)loads or switches person.
      const { user } = await readJson(req, HomeUserInput);
      sendJson(res, 200, { ok: true, view: options.fakeSlack.views.home(user) ?? null });
    },
    '/sandbox/views': async (req, res) => {
      // The modals open on a person's screen, for a page that (re)loads while one is open.
      const { user } = await readJson(req, ViewUserInput);
      sendJson(res, 200, { ok: true, views: options.fakeSlack.views.forUser(user) });
    },
    '/sandbox/dismiss': async (req, res) => {
      const input = await readJson(req, DismissInput);
      const removed = options.fakeSlack.workspace.deleteEphemeral(input.user, input.ts);
      sendJson(res, removed ? 200 : 404, { ok: removed });
    },
  };

  function run(work: Promise<void>, res: ServerResponse): void {
    work.catch((error: unknown) => {
      if (res.headersSent) {
        res.end();
        return;
      }
      const status = error instanceof HttpError ? error.status : 500;
      sendJson(res, status, { ok: false, error: error instanceof Error ? error.message : 'internal error' });
    });
  }

  return {
    handle(req, res) {
      const path = requestPath(req);
      const method = req.method ?? 'GET';
      const file = STATIC[path];
      const post = posts[path];
      const isGet = method === 'GET' || method === 'HEAD';
      if (file !== undefined && isGet) {
        run(serveStaticFile(res, publicDir, file), res);
      } else if (path === '/sandbox/state' && isGet) {
        sendJson(res, 200, options.fakeSlack.snapshot(), { 'cache-control': 'no-store' });
      } else if (path === '/sandbox/examples' && isGet) {
        sendJson(res, 200, { examples: options.examples?.() ?? [] }, { 'cache-control': 'no-store' });
      } else if (path === '/sandbox/events' && isGet) {
        stream.open(res);
      } else if (post !== undefined && method === 'POST') {
        run(post(req, res), res);
      } else if (file !== undefined || post !== undefined || path === '/sandbox/state' || path === '/sandbox/events' || path === '/sandbox/examples') {
        sendJson(res, 405, { ok: false, error: 'method not allowed' });
      } else {
        return false;
      }
      return true;
    },
    close() {
      stream.close();
    },
  };
}
