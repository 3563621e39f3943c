import { BackupSchema, type Backup } from '../../ports/backup-manager/schemas';
import { renderFreshNotice, renderStaleNotice } from '../../outbound/messages/staleness';
import { decideStaleness, HOUR_MS } from './staleness';

const NOW = Date.parse('2026-11-30T12:00:00Z');
const LIMIT = 26 * HOUR_MS;

function backup(id: number, status: string, createdAt: string | null, extra: Record<string, unknown> = {}): Backup {
  return BackupSchema.parse({ id, backup_id: `a9s-pg-${id}`, size: 1024, backup_agent_task: { id, status, created_at: createdAt, updated_at: createdAt }, ...extra });
}

const hoursAgo = (h: number) => new Date(NOW - h * HOUR_MS).toISOString();
const decide = (backups: Backup[], staleSince: number | null = null, firstSeenAt = NOW - 100 * HOUR_MS) =>
  decideStaleness({ backups, now: NOW, staleAfterMs: LIMIT, firstSeenAt, staleSince });

describe('decideStaleness', () => {
  it('is fresh while the newest done backup is younger than the limit', () => {
    const d = decide([backup(1, 'done', hoursAgo(30)), backup(2, 'done', hoursAgo(2))]);
    expect(d).toMatchObject({ stale: false, change: null, lastSuccessAt: NOW - 2 * HOUR_MS });
    expect(d.lastGood?.id).toBe(2);
  });

  it('turns stale once the newest done backup is older than the limit, whatever failed or runs since', () => {
    const d = decide([backup(1, 'done', hoursAgo(27)), backup(2, 'failed', hoursAgo(1)), backup(3, 'running', hoursAgo(0.1)), backup(4, 'deleted', hoursAgo(0.5))]);
    expect(d).toMatchObject({ stale: true, change: 'stale', lastSuccessAt: NOW - 27 * HOUR_MS });
    expect(d.lastGood?.id).toBe(1);
  });

  it('does not announce a stale spell twice', () => {
    expect(decide([backup(1, 'done', hoursAgo(27))], NOW - HOUR_MS)).toMatchObject({ stale: true, change: null });
  });

  it('announces the recovery when a good backup appears during a spell', () => {
    expect(decide([backup(1, 'done', hoursAgo(27)), backup(2, 'done', hoursAgo(0.2))], NOW - HOUR_MS)).toMatchObject({ stale: false, change: 'recovered' });
  });

  it('counts the limit exactly: stale only when older than it', () => {
    expect(decide([backup(1, 'done', hoursAgo(26))]).stale).toBe(false);
    expect(decideStaleness({ backups: [backup(1, 'done', new Date(NOW - LIMIT - 1).toISOString())], now: NOW, staleAfterMs: LIMIT, firstSeenAt: NOW, staleSince: null }).stale).toBe(true);
  });

  it('with no done backup, is stale once the instance has been watched longer than the limit', () => {
    expect(decide([backup(1, 'failed', hoursAgo(1))], null, NOW - HOUR_MS)).toMatchObject({ stale: false, change: null, lastGood: null, lastSuccessAt: null });
    expect(decide([backup(1, 'failed', hoursAgo(1))], null, NOW - 27 * HOUR_MS)).toMatchObject({ stale: true, change: 'stale', lastGood: null });
    expect(decide([], null, NOW - 27 * HOUR_MS)).toMatchObject({ stale: true, change: 'stale' });
  });

  it('does not let a done backup without any time prove freshness', () => {
    expect(decide([backup(1, 'done', null), backup(2, 'done', hoursAgo(40))])).toMatchObject({ stale: true, lastSuccessAt: NOW - 40 * HOUR_MS });
  });

  it('picks the newest by time, not by the order the manager lists them in', () => {
    expect(decide([backup(9, 'done', hoursAgo(1)), backup(3, 'done', hoursAgo(50))]).lastGood?.id).toBe(9);
  });
});

describe('staleness notices', () => {
  const hostile = 'pg-<!channel>-`x`&';

  it('says the age of the last good backup, escapes the instance, and tells whether scheduled backups are excluded', () => {
    const msg = renderStaleNotice({ instance: hostile, lastGood: backup(7, 'done', hoursAgo(30)), lastSuccessAt: NOW - 30 * HOUR_MS, firstSeenAt: NOW - 90 * HOUR_MS, now: NOW, staleAfterHours: 26, schedule: { excluded: true, retentionDays: 7 } });
    const all = JSON.stringify(msg);
    expect(msg.text).toContain('30h 0m');
    expect(all).toContain('excluded from scheduled backups');
    expect(all).toContain('Retention: 7 days');
    expect(all).not.toContain('<!channel>');
    expect(all).toContain('&lt;!channel&gt;');
  });

  it('leaves the schedule out when the API could not say, and names the case of no good backup at all', () => {
    const msg = renderStaleNotice({ instance: 'a9s-pg', lastGood: null, lastSuccessAt: null, firstSeenAt: NOW - 30 * HOUR_MS, now: NOW, staleAfterHours: 26 });
    expect(JSON.stringify(msg)).not.toMatch(/scheduled/i);
    expect(JSON.stringify(msg)).toContain('no successful backup');
  });

  it('announces the recovery with the new backup', () => {
    const msg = renderFreshNotice({ instance: hostile, backup: backup(8, 'done', hoursAgo(0.1)), takenAt: NOW - 0.1 * HOUR_MS, staleSince: NOW - 5 * HOUR_MS, now: NOW });
    expect(msg.text).toContain('backed up again');
    expect(JSON.stringify(msg)).toContain('a9s-pg-8');
    expect(JSON.stringify(msg)).not.toContain('<!channel>');
  });
});
