import { request } from 'undici';
import type { Simulator } from '../server';

/** A tiny client for the simulator's own tests: real HTTP, and no connection reuse across an outage. */

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: () => unknown;
}

export interface CallOptions {
  body?: unknown;
  /** Sent as is instead of JSON.stringify(body). */
  raw?: string;
  contentType?: string | null;
  /** user:password; null sends no Authorization header. Defaults to admin:secret. */
  auth?: string | null;
  headersTimeout?: number;
}

export const basic = (credentials: string): string => `Basic ${Buffer.from(credentials).toString('base64')}`;

export async function call(sim: Simulator, method: 'GET' | 'POST', path: string, options: CallOptions = {}): Promise<Answer> {
  const headers: Record<string, string> = {};
  const auth = options.auth === undefined ? 'admin:secret' : options.auth;
  if (auth !== null) headers.authorization = basic(auth);
  const body = options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  const contentType = options.contentType === undefined ? (body === undefined ? null : 'application/json') : options.contentType;
  if (contentType !== null) headers['content-type'] = contentType;
  const res = await request(`${sim.url}${path}`, {
    method,
    headers,
    body,
    reset: true,
    headersTimeout: options.headersTimeout,
  });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text, json: () => JSON.parse(text) as unknown };
}

export const getInstance = (sim: Simulator, guid: string, options?: CallOptions): Promise<Answer> =>
  call(sim, 'GET', `/instances/${guid}`, options);

export const postBackup = (sim: Simulator, guid: string, options?: CallOptions): Promise<Answer> =>
  call(sim, 'POST', '/backup_agent/backup', { body: { instance_guid: guid }, ...options });

export const postRestore = (sim: Simulator, backupId: number, instanceId: number, options?: CallOptions): Promise<Answer> =>
  call(sim, 'POST', '/backup_agent/restores', { body: { backup_id: backupId, instance_id: instanceId }, ...options });

/** The error code of a request that got no HTTP answer at all (ECONNREFUSED, UND_ERR_SOCKET, ...). */
export async function connectionError(work: Promise<unknown>): Promise<string> {
  try {
    await work;
  } catch (err) {
    const e = err as { code?: string; cause?: { code?: string } };
    return e.code ?? e.cause?.code ?? 'unknown';
  }
  throw new Error('expected the request to fail without an answer');
}
