import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { Client } from 'pg';
import { z } from 'zod';

/** Where the run's PostgreSQL listens: set by jest's global setup, read by the workers. */
const ENV = 'PGBACKUP_TEST_PG';
const Server = z.object({ port: z.number().int(), password: z.string() });
export type TestPostgres = z.infer<typeof Server>;

/**
 * Starts the run's one PostgreSQL (test/pg/server.mjs) and says where it listens, in the env.
 * `script` is for callers compiled elsewhere (the bench), beside which server.mjs is not copied.
 */
export async function startTestPostgres(script = join(__dirname, 'server.mjs')): Promise<ChildProcess> {
  const child = spawn(process.execPath, [script], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const first = await new Promise<string>((resolve, reject) => {
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`test PostgreSQL exited (${String(code)}) before it was ready: ${stderr}`)));
  });
  lines.close();
  process.env[ENV] = JSON.stringify(Server.parse(JSON.parse(first)));
  return child;
}

/** Stops it; it removes its data directory on the way out. */
export async function stopTestPostgres(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

export function testPostgres(): TestPostgres {
  const raw = process.env[ENV];
  if (!raw) throw new Error(`${ENV} is not set: the test PostgreSQL is started by jest's global setup (test/global-setup.ts)`);
  return Server.parse(JSON.parse(raw));
}

export function urlOf(server: TestPostgres, database: string): string {
  return `postgres://postgres:${encodeURIComponent(server.password)}@127.0.0.1:${server.port}/${database}`;
}

/** A new, empty database on the run's server, for one test or suite; its URL. */
export async function freshDatabase(prefix = 't'): Promise<string> {
  const server = testPostgres();
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const admin = new Client({ connectionString: urlOf(server, 'postgres') });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  return urlOf(server, name);
}
