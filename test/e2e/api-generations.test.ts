import { httpGet } from '../helpers/http';
import { ALICE, BOB, Harness, OPS, textOf, type Args } from './harness';

/** The bot on BACKUP_MANAGER_API=auto (the default) against a manager that serves only the newer REST routes. */

const PG = 'pg-orders';
const isParent = (a: Args) => a.channel === OPS.id && a.thread_ts === undefined && /Backup of/.test(textOf(a));
const replyIn = (ts: string, status: string) => (a: Args) => a.thread_ts === ts && new RegExp(`is ${status}|${status.toUpperCase()}`).test(a.text ?? '');
const isCard = (a: Args) => a.channel === OPS.id && a.thread_ts === undefined && /Restore of .* requested/.test(a.text ?? '');

describe('BACKUP_MANAGER_API=auto against SIM_API=rest, end to end', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await Harness.start({ simulator: { api: 'rest', instances: [PG] } });
  });
  afterEach(async () => {
    await h.close();
  });

  it('finds out the REST generation with GETs only, logs it and shows it in /readyz', async () => {
    await h.waitForLog(/Backup Manager API generation: rest/);
    const ready = await httpGet(`${h.bot.url}/readyz`);
    expect(JSON.parse(ready.text)).toEqual({ ready: true, slack: 'ok', backupManager: 'ok', store: 'ok', api: 'rest', role: 'leader' });
    expect(h.managerRequests('POST')).toEqual([]);
  });

  it('backs up through POST /instances/:guid/backups and follows it to done; list shows it', async () => {
    await h.command('now');
    const parent = await h.waitFor('chat.postMessage', isParent);
    const ts = (parent.response as { ts: string }).ts;
    expect(h.managerRequests('POST').map((r) => r.path)).toEqual(['/instances/a9s-pg/backups']);
    const created = h.sim.view('a9s-pg').backups.at(-1);
    expect(textOf(parent.args as Args)).toMatch(new RegExp(`task ${created?.id}`));
    await h.waitFor('chat.postMessage', replyIn(ts, 'queued'));
    await h.sim.step();
    await h.waitFor('chat.postMessage', replyIn(ts, 'running'));
    await h.sim.step();
    await h.waitFor('chat.postMessage', replyIn(ts, 'done'));
    await h.waitFor('chat.update', (a) => a.ts === ts && /: done/.test(a.text ?? ''));

    await h.command('list');
    const text = await h.waitForEphemeral(ALICE.id, /Latest backups/);
    expect(text).toContain(`*${created?.id}*`);
    expect(text).toMatch(/restore_open/);
    // The REST generation has no numeric instance id: none is made up.
    expect(text).not.toMatch(/instance id/);
    // Nothing ever went to the legacy routes, which this manager does not serve.
    expect(h.managerRequests().filter((r) => r.path.startsWith('/backup_agent/'))).toEqual([]);
  });

  it('restores a service instance through POST /instances/:guid/backups/:id/restore and follows it to its end', async () => {
    const backupId = h.sim.seedBackup(PG, { status: 'done', size: 44985152, createdAt: new Date(Date.now() - 3_600_000) });
    await h.command(`restore ${backupId} ${PG} bad migration`, ALICE);
    const cardCall = await h.waitFor('chat.postMessage', isCard);
    const card = { ts: (cardCall.response as { ts: string }).ts, blocks: (cardCall.args as Args).blocks ?? [] };
    await h.click(card, 'restore_approve', BOB);
    await h.waitFor('chat.update', (a) => a.ts === card.ts && /Restore running/.test(textOf(a)));
    expect(h.managerRequests('POST').map((r) => r.path)).toEqual([`/instances/${PG}/backups/${backupId}/restore`]);
    await h.sim.step();
    await h.sim.step();
    await h.waitFor('chat.postMessage', (a) => a.thread_ts === card.ts && /succeeded/.test(textOf(a)));
    expect(h.sim.view(PG).restores.map((r) => r.backup_agent_tasks.at(-1)?.status)).toEqual(['done']);
    expect(h.managerRequests('POST')).toHaveLength(1);
  });
});
