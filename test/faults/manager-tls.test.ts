import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { ALICE, Harness } from '../e2e/harness';
import { expectNothingLeaked } from './util';

/**
 * BACKUP_MANAGER_CA_FILE end to end: an HTTPS manager on loopback behind a private CA
 * (test/fixtures/tls) is read with the right bundle and refused, as a TLS problem, with another.
 */

const TLS_DIR = join(__dirname, '../fixtures/tls');
const INSTANCE_VIEW = JSON.stringify({
  backups: [
    {
      backup_agent_task: { msg: null, updated_at: '2018-11-22T04:01:28.853Z', created_at: '2018-11-22T04:00:15.718Z', status: 'done', task_id: 148, id: 156 },
      is_downloadable: false,
      size: 44985152,
      backup_id: 'a9s-pg-1542859215559',
      instance_id: 38,
      id: 148,
    },
  ],
  restores: [],
  guid: '99a44eaf-a310-4952-97d7-72492f989d0a',
  instance_id: 'a9s-pg',
  id: 38,
});

describe('fault: an HTTPS Backup Manager behind a private CA', () => {
  let h: Harness | undefined;
  let server: https.Server;
  let url = '';
  let requests = 0;

  beforeEach(async () => {
    requests = 0;
    server = https.createServer({ cert: readFileSync(join(TLS_DIR, 'server.pem')), key: readFileSync(join(TLS_DIR, 'server-key.pem')) }, (req, res) => {
      requests++;
      req.resume();
      res.writeHead(req.url === '/instances/a9s-pg' ? 200 : 404, { 'content-type': 'application/json' });
      res.end(req.url === '/instances/a9s-pg' ? INSTANCE_VIEW : '{"error":"NotFound"}');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterEach(async () => {
    await h?.close();
    h = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('reads through the bundle named by BACKUP_MANAGER_CA_FILE', async () => {
    h = await Harness.start({ env: { BACKUP_MANAGER_URL: url, BACKUP_MANAGER_CA_FILE: join(TLS_DIR, 'ca.pem') } });
    await h.command('list');
    const said = await h.waitForEphemeral(ALICE.id, /backups of/);
    expect(said).toMatch(/Latest backups of `a9s-pg`/);
    expect(said).toMatch(/148/);
    expect(requests).toBeGreaterThan(0);
    expectNothingLeaked(h);
  });

  it('refuses a certificate the bundle does not vouch for, and says it is a TLS problem', async () => {
    h = await Harness.start({ env: { BACKUP_MANAGER_URL: url, BACKUP_MANAGER_CA_FILE: join(TLS_DIR, 'other-ca.pem') } });
    await h.command('list');
    const said = await h.waitForEphemeral(ALICE.id, /Could not list the backups/);
    expect(said).toMatch(/TLS certificate was not accepted \([A-Z_]+\)\. Check BACKUP_MANAGER_CA_FILE/);
    expect(said).not.toMatch(/unreachable/);
    expect(requests).toBe(0);
    expectNothingLeaked(h);
  });
});
