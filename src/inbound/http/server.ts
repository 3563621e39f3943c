import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';

/** A route answers the request and returns true, or returns false to let the next one try. */
export type Route = (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>;

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** One HTTP server for everything the process serves; routes are tried in order. */
export function createHttpServer(routes: readonly Route[], logger: Logger): Server {
  return createServer((req, res) => {
    void (async () => {
      for (const route of routes) {
        if (await route(req, res)) return;
      }
      sendJson(res, 404, { error: 'not found' });
    })().catch((err: unknown) => {
      // The err serializer keeps only name, message, code and stack: an error may carry the whole request.
      logger.error({ err, method: req.method, path: pathOf(req) }, 'HTTP handler failed');
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
      else res.end();
    });
  });
}

/** Path without the query string; `req.url` is relative, so any base works. */
export function pathOf(req: IncomingMessage): string {
  return new URL(req.url ?? '/', 'http://localhost').pathname;
}
