import { BackupSchema } from '../../ports/backup-manager/schemas';
import { buildOverview, type OverviewInput } from '../../use-cases/home/overview';
import { HOME_MAX_BLOCKS, renderHomeView, renderOverviewMessage } from './home';

const NOW = Date.parse('2026-11-30T12:00:00Z');

function input(over: Partial<OverviewInput> = {}): OverviewInput {
  return {
    instances: ['a9s-pg'],
    watched: new Set(['a9s-pg']),
    latest: new Map(),
    health: { up: true, since: NOW },
    generation: 'rest',
    staleAfterHours: 26,
    staleness: [],
    activeTasks: [],
    requests: [],
    now: NOW,
    lateAfterMs: 180_000,
    link: () => undefined,
    ...over,
  };
}

const backup = (id: number, status: string, at: string, extra: Record<string, unknown> = {}) =>
  BackupSchema.parse({ id, backup_id: `a9s-pg-${id}`, size: 2048, backup_agent_task: { id, status, created_at: at, updated_at: at, ...extra } });

describe('App Home renderer', () => {
  it('stays within Slack\'s 100 blocks however many instances, and names those it leaves out', () => {
    const names = Array.from({ length: 40 }, (_, i) => `pg-${i}`);
    const view = renderHomeView(buildOverview(input({ instances: names })), 'C0ALERTS');
    expect(view.type).toBe('home');
    expect(view.blocks.length).toBeLessThanOrEqual(HOME_MAX_BLOCKS);
    expect(JSON.stringify(view.blocks.at(-1))).toContain('Not shown');
    expect(renderOverviewMessage(buildOverview(input({ instances: names }))).blocks.length).toBeLessThanOrEqual(50);
  });

  it('escapes what the manager says and shows an instance not read yet as such', () => {
    const view = { id: 1, instanceGuid: 'a9s-pg', guid: null, backups: [backup(1, 'done', '2026-11-30T10:00:00Z'), backup(2, 'failed', '2026-11-30T11:00:00Z', { msg: '<!channel> boom' })], restores: [] };
    const o = buildOverview(input({ instances: ['a9s-pg', 'svc-1'], latest: new Map([['a9s-pg', { view, at: NOW }]]) }));
    const text = JSON.stringify(renderHomeView(o, 'C0ALERTS'));
    expect(text).not.toContain('<!channel>');
    expect(text).toContain('&lt;!channel&gt; boom');
    expect(o.instances[0]?.lastGood?.id).toBe(1);
    expect(o.instances[1]?.readAt).toBeUndefined();
    expect(text).toContain('not read yet');
  });

  it('counts the approvals a pending request still misses', () => {
    const request = { id: 7, instance: 'a9s-pg', backupId: 1, requester: 'U0ALICE', channel: 'C0OPS', cardTs: '1.2', state: 'pending', approvalsNeeded: 2, approvals: [{ userId: 'U0BOB', at: NOW }], expiresAt: NOW + 3_600_000 };
    const o = buildOverview(input({ requests: [request as never], link: () => 'https://example.slack.com/archives/C0OPS/p12' }));
    expect(o.instances[0]?.pending).toMatchObject([{ requestId: 7, approvalsMissing: 1 }]);
    const text = JSON.stringify(renderHomeView(o, undefined));
    expect(text).toContain('1 approval missing');
    expect(text).toContain('<https://example.slack.com/archives/C0OPS/p12|request>');
  });

  describe('read times', () => {
    const view = { id: 1, instanceGuid: 'a9s-pg', guid: null, backups: [backup(1, 'done', '2026-11-30T10:00:00Z')], restores: [] };
    const readAt = (at: number, now = NOW) => buildOverview(input({ latest: new Map([['a9s-pg', { view, at }]]), now }));
    const date = (at: number) => `<!date^${Math.floor(at / 1000)}^`;

    it('the status message always says when each instance and the manager were last read', () => {
      const text = JSON.stringify(renderOverviewMessage(readAt(NOW - 30_000)));
      expect(text).toContain(`Read ${date(NOW - 30_000)}`);
      expect(text.split(`Read ${date(NOW - 30_000)}`)).toHaveLength(3);
      expect(text).not.toContain('out of date');
    });

    it('the Home leaves a fresh read time out (a new read alone is not published again), and shows a late one', () => {
      const fresh = JSON.stringify(renderHomeView(readAt(NOW - 30_000), undefined));
      expect(fresh).toBe(JSON.stringify(renderHomeView(readAt(NOW - 90_000), undefined)));
      expect(fresh).not.toContain(date(NOW - 30_000));

      const late = readAt(NOW - 180_001);
      expect(late.instances[0]?.readLate).toBe(true);
      const text = JSON.stringify(renderHomeView(late, undefined));
      expect(text).toContain(`:warning: Last read ${date(NOW - 180_001)}`);
      expect(text).toContain('may be out of date');
      // Late by the same read: the same view, so it is not published again while no read comes.
      expect(JSON.stringify(renderHomeView(readAt(NOW - 180_001, NOW + 600_000), undefined))).toBe(text);
    });

    it('says nothing of read times for instances not read', () => {
      const o = buildOverview(input());
      expect(o.manager).toMatchObject({ readAt: undefined, readLate: false });
      expect(JSON.stringify(renderOverviewMessage(o))).not.toMatch(/Read <!date|Last read/);
    });
  });
});
