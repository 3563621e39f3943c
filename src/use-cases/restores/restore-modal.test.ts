import { renderRestoreModal } from '../../outbound/messages/restore-modal';
import { validateRestoreModal } from './restore-modal';

const NOW = Date.parse('2026-11-30T12:00:00Z');
const meta = (instance: string) => JSON.stringify({ instance, backupId: 148, channel: 'C0OPS' });

describe('restore modal', () => {
  it('renders the backup, the reason field and, for a9s-pg only, the confirmation field and the warnings', () => {
    const base = {
      instanceNumericId: 38,
      backupId: 148,
      backupName: 'pg-1-1542859215559',
      backupSize: 1024,
      backupCreatedAt: '2026-11-30T09:00:00Z',
      channel: 'C0OPS',
      laterBackups: [],
      reasonRequired: false,
    };
    const pg = renderRestoreModal({ ...base, instance: 'pg-1' }, NOW);
    expect(pg).toMatchObject({ type: 'modal', callback_id: 'restore_request', });
    expect(JSON.parse(pg.private_metadata ?? '')).toEqual({ instance: 'pg-1', backupId: 148, channel: 'C0OPS' });
    const text = JSON.stringify(pg.blocks);
    expect(text).toContain('3h 0m ago');
    expect(text).toContain('1.0 KiB');
    expect(pg.blocks.filter((b) => b.type === 'input').map((b) => [b.block_id, (b as { optional?: boolean }).optional ?? false])).toEqual([['reason', true]]);

    const a9s = renderRestoreModal({ ...base, instance: 'a9s-pg', reasonRequired: true }, NOW);
    expect(JSON.stringify(a9s.blocks)).toMatch(/unavailable/);
    expect(a9s.blocks.filter((b) => b.type === 'input').map((b) => [b.block_id, (b as { optional?: boolean }).optional ?? false])).toEqual([
      ['reason', false],
      ['confirm', false],
    ]);
    expect(a9s.title.text.length).toBeLessThanOrEqual(24);
  });

  it('validates a submission: reason when required, its length, the a9s-pg confirmation, readable metadata', () => {
    const check = (instance: string, reason: string | null, confirmation: string | null, reasonRequired = false) =>
      validateRestoreModal({ metadata: meta(instance), reason, confirmation }, { reasonRequired });
    expect(check('pg-1', null, null)).toEqual({ ok: true, request: { instance: 'pg-1', backupId: 148, channel: 'C0OPS', reason: '' } });
    expect(check('pg-1', '  ', null, true)).toEqual({ ok: false, errors: { reason: expect.stringMatching(/required/) } });
    expect(check('pg-1', 'x'.repeat(501), null)).toEqual({ ok: false, errors: { reason: expect.stringMatching(/At most 500/) } });
    expect(check('a9s-pg', ' why ', 'A9S-PG')).toEqual({ ok: false, errors: { confirm: expect.stringMatching(/Type a9s-pg exactly/) } });
    expect(check('a9s-pg', null, null, true)).toEqual({ ok: false, errors: { reason: expect.any(String), confirm: expect.any(String) } });
    expect(check('a9s-pg', ' why ', ' a9s-pg ')).toEqual({ ok: true, request: { instance: 'a9s-pg', backupId: 148, channel: 'C0OPS', reason: 'why' } });
    expect(validateRestoreModal({ metadata: '{"instance":"pg-1"}', reason: 'x', confirmation: null }, { reasonRequired: false })).toEqual({
      ok: false,
      errors: { reason: expect.stringMatching(/can not be read/) },
    });
  });
});
