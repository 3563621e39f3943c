import { authorize, groupsToResolve, type AccessRules, type GroupMembers } from './access-policy';

const OPEN: AccessRules = { allowedChannels: [], operators: [], approvers: [] };
const none: GroupMembers = new Map();

describe('access policy', () => {
  it('lets anyone do anything anywhere when nothing is configured', () => {
    for (const permission of ['use', 'operate', 'approve'] as const) {
      expect(authorize(OPEN, { user: 'U0EVE', channel: 'C0ANY', permission }, none)).toEqual({ allowed: true });
    }
  });

  it('refuses every permission outside ALLOWED_CHANNELS and names the allowed ones', () => {
    const rules = { ...OPEN, allowedChannels: ['C0OPS'] };
    expect(authorize(rules, { user: 'U0ALICE', channel: 'C0OPS', permission: 'use' }, none)).toEqual({ allowed: true });
    expect(authorize(rules, { user: 'U0ALICE', channel: 'C0ALERTS', permission: 'use' }, none)).toEqual({ allowed: false, reason: 'channel', allowedChannels: ['C0OPS'] });
  });

  it('checks operators and approvers by id and by group membership', () => {
    const rules = { ...OPEN, operators: ['U0ALICE', 'S0OPS'], approvers: ['S0APPROVERS'] };
    const groups: GroupMembers = new Map([
      ['S0OPS', new Set(['U0DAVE'])],
      ['S0APPROVERS', new Set(['U0BOB'])],
    ]);
    const may = (user: string, permission: 'operate' | 'approve') => authorize(rules, { user, channel: 'C0OPS', permission }, groups);
    expect(may('U0ALICE', 'operate')).toEqual({ allowed: true });
    expect(may('U0DAVE', 'operate')).toEqual({ allowed: true });
    expect(may('U0EVE', 'operate')).toEqual({ allowed: false, reason: 'not-operator' });
    expect(may('U0BOB', 'approve')).toEqual({ allowed: true });
    expect(may('U0ALICE', 'approve')).toEqual({ allowed: false, reason: 'not-approver' });
    expect(authorize(rules, { user: 'U0EVE', channel: 'C0OPS', permission: 'use' }, groups)).toEqual({ allowed: true });
  });

  it('fails closed: an unreadable group refuses whoever is not proven a member', () => {
    const rules = { ...OPEN, approvers: ['S0A', 'S0B'] };
    const groups: GroupMembers = new Map([
      ['S0A', undefined],
      ['S0B', new Set(['U0BOB'])],
    ]);
    expect(authorize(rules, { user: 'U0CAROL', channel: 'C0OPS', permission: 'approve' }, groups)).toEqual({ allowed: false, reason: 'membership-unknown', groups: ['S0A'] });
    expect(authorize(rules, { user: 'U0BOB', channel: 'C0OPS', permission: 'approve' }, groups)).toEqual({ allowed: true });
    expect(authorize(rules, { user: 'U0BOB', channel: 'C0OPS', permission: 'approve' }, new Map())).toEqual({ allowed: false, reason: 'membership-unknown', groups: ['S0A', 'S0B'] });
  });

  it('asks Slack only when the answer depends on a group', () => {
    const rules = { ...OPEN, operators: ['U0ALICE', 'S0OPS'] };
    expect(groupsToResolve(rules, 'U0ALICE', 'operate')).toEqual([]);
    expect(groupsToResolve(rules, 'U0EVE', 'operate')).toEqual(['S0OPS']);
    expect(groupsToResolve(rules, 'U0EVE', 'use')).toEqual([]);
    expect(groupsToResolve(OPEN, 'U0EVE', 'approve')).toEqual([]);
  });
});
