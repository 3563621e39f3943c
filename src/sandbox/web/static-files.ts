import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';

/**
 * The page is served from the source tree in both ts-jest (src/sandbox/web) and the build
 * (dist/sandbox/web): the project root is the nearest folder holding package.json.
 */
export function findPublicDir(start: string = __dirname): string {
  let dir = start;
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${start}; cannot locate src/sandbox/public`);
    dir = parent;
  }
  return join(dir, 'src', 'sandbox', 'public');
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

/** Read on every request, so an edit to the page shows on reload without restarting the bot. */
export async function serveStaticFile(res: ServerResponse, publicDir: string, file: string): Promise<void> {
  const body = await readFile(join(publicDir, file));
  const ext = file.slice(file.lastIndexOf('.'));
  res.writeHead(200, {
    'content-type': CONTENT_TYPES[ext] ?? 'application/octet-stream',
    'content-length': body.length,
    'cache-control': 'no-cache',
    // The page loads nothing from elsewhere; say so, so injected markup could not either.
    'content-security-policy': "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'",
    'x-content-type-options': 'nosniff',
  });
  res.end(body);
}
