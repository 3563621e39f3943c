import { startSimulator, type Simulator } from '../simulator';
import { seedDemoHistory } from '../simulator/demo';
import { DEFAULT_USERS } from './fake-slack';
import { composerExamples } from './examples';
import { roleLabel, sandboxApprovers, sandboxPeople } from './people';

describe('sandbox people', () => {
  it('has bob and carol approve unless the operator set RESTORE_APPROVERS', () => {
    expect(sandboxApprovers([], 1)).toEqual(['U0BOB', 'U0CAROL']);
    expect(sandboxApprovers([], 2)).toEqual(['U0BOB', 'U0CAROL']);
    expect(sandboxApprovers(['U0EVE'], 1)).toEqual(['U0EVE']);
    // Three approvals can not come from two approvers: no list, so the quorum stays reachable.
    expect(sandboxApprovers([], 3)).toEqual([]);
  });

  it('labels each person by what they may do under the approver list in force', () => {
    const label = (approvers: string[]): string[] => sandboxPeople(approvers).filter((u) => !u.isBot).map((u) => `${u.name} — ${u.title}`);
    expect(label(['U0BOB', 'U0CAROL'])).toEqual([
      'alice — operator (asks for restores)',
      'bob — approver',
      'carol — approver',
      'eve — outsider (can not approve)',
    ]);
    expect(label(['U0EVE', 'U0ALICE'])).toEqual([
      'alice — operator (asks for and approves restores)',
      'bob — member (can not approve)',
      'carol — member (can not approve)',
      'eve — outsider (can approve)',
    ]);
    expect(roleLabel('U0EVE', [])).toBe('outsider (can approve)');
    // The bots keep their own titles.
    expect(sandboxPeople([]).filter((u) => u.isBot)).toEqual(DEFAULT_USERS.filter((u) => u.isBot));
  });
});

describe('composer examples', () => {
  let sim: Simulator;

  beforeEach(async () => {
    sim = await startSimulator({ port: 0, instances: ['pg-orders'] });
    seedDemoHistory(sim, ['a9s-pg', 'pg-orders'], new Date('2026-11-30T12:00:00Z'));
  });

  afterEach(async () => {
    await sim.close();
  });

  it('offers a restore of a backup that is done in the seeded history, newest first', () => {
    const view = sim.view('a9s-pg');
    const examples = composerExamples('a9s-pg', view);
    expect(examples.slice(0, 3)).toEqual(['/pgbackup help', '/pgbackup now', '/pgbackup list']);
    const id = Number(/^\/pgbackup restore (\d+) \D/.exec(examples[3] ?? '')?.[1]);
    const named = view.backups.find((b) => b.id === id);
    expect(named?.backup_agent_task.status).toBe('done');
    const newestDone = view.backups.filter((b) => b.backup_agent_task.status === 'done').map((b) => b.backup_agent_task.created_at).sort().at(-1);
    expect(named?.backup_agent_task.created_at).toBe(newestDone);
    expect(examples).toHaveLength(4);
  });

  it('offers no restore when the default instance has no done backup or is unknown', () => {
    expect(composerExamples('a9s-pg', undefined)).toEqual(['/pgbackup help', '/pgbackup now', '/pgbackup list']);
    expect(composerExamples('a9s-pg', sim.view('pg-orders'))).toHaveLength(3);
    const view = sim.view('a9s-pg');
    const noneDone = { ...view, backups: view.backups.filter((b) => b.backup_agent_task.status !== 'done') };
    expect(composerExamples('a9s-pg', noneDone)).toHaveLength(3);
  });
});
