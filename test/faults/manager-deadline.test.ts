import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ALICE, Harness, OPS, textOf, type Args, type HarnessOptions } from '../e2e/harness';
import { expectHealthy, expectNothingLeaked, isParent } from './util';

/**
 * A Backup Manager that answers too slowly for anyone waiting: the person hears back within
 * the deadline (scaled down here from 15 s), and the ack already says the bot is asking.
 */

const DEADLINE_MS = 600;
/** Room for the ack, the response_url round trip and a loaded CI machine. */
const SLACK_MS = 1_500;
const BACKUP_POST = '/backup_agent/backup';

interface StuckManager {
  url: string;
  requests: string[];
  close(): Promise<void>;
}

/** `drip`: 200, then a byte every 100 ms, never the end. `silent`: reads the request, never answers. */
async function stuckManager(mode: 'drip' | 'silent'): Promise<StuckManager> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(`${req.method ?? ''} ${req.url ?? ''}`);
    req.resume();
    if (mode === 'silent') return;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{"backups":[');
    const timer = setInterval(() => res.write(' '), 100);
    res.on('close', () => clearInterval(timer));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('fault: the Backup Manager is too slow for the person waiting', () => {
  let h: Harness;
  let manager: StuckManager | undefined;

  async function start(options: HarnessOptions = {}): Promise<Harness> {
    h = await Harness.start({ ...options, bot: { managerTimeouts: { deadline: DEADLINE_MS } } });
    return h;
  }

  async function startAgainst(mode: 'drip' | 'silent'): Promise<Harness> {
    manager = await stuckManager(mode);
    return start({ env: { BACKUP_MANAGER_URL: manager.url } });
  }

  afterEach(async () => {
    await h.close();
    await manager?.close();
    manager = undefined;
  });

  /** Runs `/pgbackup text`, checks the ack says it is asking, and resolves with what the person then hears and when. */
  async function ask(text: string, answer: RegExp): Promise<{ said: string; ms: number }> {
    const started = Date.now();
    const { status, ack } = await h.command(text);
    expect(status).toBe(200);
    expect(textOf(ack)).toMatch(/Asking the Backup Manager/);
    const said = await h.waitForEphemeral(ALICE.id, answer, DEADLINE_MS + SLACK_MS + 3_000);
    return { said, ms: Date.now() - started };
  }

  it('a manager that drips a byte at a time: `list` answers "did not answer within" by the deadline', async () => {
    await startAgainst('drip');
    const { said, ms } = await ask('list', /Could not list the backups/);
    expect(said).toMatch(/unreachable: it did not answer within 0\.6 s/);
    expect(ms).toBeLessThan(DEADLINE_MS + SLACK_MS);
    expectNothingLeaked(h);
    await expectHealthy(h.bot.url);
  });

  it('a manager that never answers: `now` and `restore` answer by the deadline, and no POST is sent', async () => {
    await startAgainst('silent');
    const now = await ask('now', /Could not back up/);
    expect(now.said).toMatch(/did not answer within 0\.6 s/);
    expect(now.ms).toBeLessThan(DEADLINE_MS + SLACK_MS);
    const restore = await ask('restore 148', /Could not prepare the restore/);
    expect(restore.said).toMatch(/did not answer within 0\.6 s/);
    expect(restore.ms).toBeLessThan(DEADLINE_MS + SLACK_MS);
    expect(manager?.requests.filter((r) => r.startsWith('POST'))).toEqual([]);
    expect(h.callsOf('chat.postMessage')).toHaveLength(0);
    expect(h.bot.deps.store.tasks.listActive()).toHaveLength(0);
    expectNothingLeaked(h);
  });

  it('a backup POST cut off by the deadline is not sent again: the read that reconciles it adopts the backup, within the deadline', async () => {
    await start();
    // The manager queues the backup, then withholds the answer far beyond the deadline.
    await h.sim.setFault({ kind: 'slow', delayMs: 5_000, method: 'POST', path: BACKUP_POST, times: 1 });
    const started = Date.now();
    await h.command('now');
    const parent = await h.waitFor('chat.postMessage', isParent(OPS.id));
    expect(Date.now() - started).toBeLessThan(DEADLINE_MS + SLACK_MS);
    const created = h.sim.view('a9s-pg').backups;
    expect(created).toHaveLength(1);
    expect(textOf(parent.args as Args)).toMatch(new RegExp(`task ${created[0]?.id}`));
    expect(h.managerRequests('POST', BACKUP_POST)).toHaveLength(1);
  });

  it('a manager that answers 503: the person is told it answered 503, not that it was unreachable', async () => {
    await start();
    await h.sim.setFault({ kind: 'status', status: 503, method: 'GET' });
    const { said } = await ask('list', /Could not list the backups/);
    expect(said).toMatch(/The Backup Manager answered 503 Service Unavailable\./);
    expect(said).not.toMatch(/unreachable|did not answer/);
    await h.sim.setFault(null);
  });

  it('help answers at once and does not claim to ask the Backup Manager', async () => {
    await start();
    const { ack } = await h.command('help');
    expect(textOf(ack)).toMatch(/\/pgbackup now/);
    expect(textOf(ack)).not.toMatch(/Asking the Backup Manager/);
  });
});
