import { openStore } from '../../../ports/store';
import { SEEN_REQUEST_KEEP_MS, SEEN_REQUEST_PRUNE_EVERY_MS } from '../../../ports/store/seen-requests';
import { replayKey } from './dedupe';

const command = { command: '/pgbackup', team_id: 'T1', channel_id: 'C1', user_id: 'U1', text: 'now' };
const click = {
  type: 'block_actions',
  user: { id: 'U1' },
  container: { message_ts: '1.2' },
  message: { ts: '1.2' },
  actions: [{ action_id: 'restore_approve', action_ts: '1700000000.123' }],
};

describe('replayKey', () => {
  it('keys a command by its trigger_id', () => {
    expect(replayKey({ ...command, trigger_id: 'tr-1' }, '1700000000')).toBe('cmd:tr-1');
    expect(replayKey({ ...command, trigger_id: 'tr-1', text: 'list' }, '1700000999')).toBe('cmd:tr-1');
  });

  it('without a trigger_id, keys a command by its content and signed timestamp', () => {
    const a = replayKey(command, '1700000000');
    expect(a).toMatch(/^cmd#[0-9a-f]{64}$/);
    expect(replayKey({ ...command }, '1700000000')).toBe(a);
    expect(replayKey(command, '1700000001')).not.toBe(a);
    expect(replayKey({ ...command, text: 'list' }, '1700000000')).not.toBe(a);
    expect(replayKey({ ...command, user_id: 'U2' }, '1700000000')).not.toBe(a);
    // Nothing tells a replay from a deliberate second command: not de-duplicated.
    expect(replayKey(command, undefined)).toBeUndefined();
  });

  it('keys a click by action, message, user and action_ts', () => {
    const a = replayKey(click, undefined);
    expect(a).toBe('click:restore_approve:1.2:U1:1700000000.123');
    expect(replayKey({ ...click, user: { id: 'U2' } }, undefined)).not.toBe(a);
    expect(replayKey({ ...click, message: { ts: '9.9' } }, undefined)).not.toBe(a);
    expect(replayKey({ ...click, actions: [{ action_id: 'restore_approve', action_ts: '1700000001.000' }] }, undefined)).not.toBe(a);
  });

  it('gives no key for what it can not read', () => {
    for (const body of [null, undefined, 'now', {}, { type: 'block_actions', user: { id: 'U1' }, actions: [] }, { type: 'view_submission' }]) {
      expect(replayKey(body, '1700000000')).toBeUndefined();
    }
  });
});

describe('seen requests in the store', () => {
  it('says first once per key within the keep window, and forgets keys older than it', () => {
    const store = openStore(':memory:');
    const t0 = 1_700_000_000_000;
    expect(store.seen.firstSighting('k', t0)).toBe(true);
    expect(store.seen.firstSighting('k', t0 + 1500)).toBe(false);
    expect(store.seen.firstSighting('k', t0 + SEEN_REQUEST_KEEP_MS - 1)).toBe(false);
    expect(store.seen.firstSighting('other', t0 + 1)).toBe(true);
    // Older than the window: first again, whether or not a prune has deleted it yet.
    expect(store.seen.firstSighting('k', t0 + SEEN_REQUEST_KEEP_MS + 1)).toBe(true);
    expect(store.seen.firstSighting('k', t0 + SEEN_REQUEST_KEEP_MS + 2)).toBe(false);
    // Old keys are deleted at most once a prune interval: the table does not grow for ever.
    expect(store.seen.firstSighting('later', t0 + SEEN_REQUEST_KEEP_MS + SEEN_REQUEST_PRUNE_EVERY_MS)).toBe(true);
    expect(store.db.prepare('SELECT key FROM seen_requests ORDER BY key').all()).toEqual([{ key: 'k' }, { key: 'later' }]);
    store.close();
  });
});
