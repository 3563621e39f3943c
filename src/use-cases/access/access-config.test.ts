import { ConfigError, loadConfig } from '../../config';

const PRODUCTION = {
  SLACK_BOT_TOKEN: 'xoxb-1111-2222-abcdef',
  SLACK_SIGNING_SECRET: 'signing-secret-0123456789',
  BACKUP_MANAGER_URL: 'http://backup-manager.service.dc1.consul:3000',
  BACKUP_MANAGER_PASSWORD: 'manager-password-0123',
};

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig({ ...PRODUCTION, ...env }, () => '');
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('access configuration', () => {
  it('defaults: every channel, anyone operates, reason optional, one rejection ends a request', () => {
    expect(loadConfig(PRODUCTION)).toMatchObject({ allowedChannels: [], operators: [], restoreApprovers: [], restoreReason: 'optional', restoreRejections: 1 });
  });

  it('reads channels, user and group ids, the reason mode and the rejections', () => {
    const c = loadConfig({
      ...PRODUCTION,
      ALLOWED_CHANNELS: 'C0OPS, G0PRIVATE',
      OPERATORS: 'U0ALICE,S0OPERATORS, W0GRID',
      RESTORE_APPROVERS: 'S0APPROVERS,U0BOB',
      RESTORE_REASON: 'Required',
      RESTORE_REJECTIONS: '2',
    });
    expect(c).toMatchObject({
      allowedChannels: ['C0OPS', 'G0PRIVATE'],
      operators: ['U0ALICE', 'S0OPERATORS', 'W0GRID'],
      restoreApprovers: ['S0APPROVERS', 'U0BOB'],
      restoreReason: 'required',
      restoreRejections: 2,
    });
  });

  it('reports every bad value at once, naming the variable and the id', () => {
    const found = problems({
      ALLOWED_CHANNELS: 'ops',
      OPERATORS: 'alice,U0BOB',
      RESTORE_APPROVERS: '@bob',
      RESTORE_REASON: 'sometimes',
      RESTORE_REJECTIONS: '0',
    });
    expect(found).toEqual([
      expect.stringMatching(/^RESTORE_APPROVERS names "@bob", which is not a user id/),
      expect.stringMatching(/^ALLOWED_CHANNELS names "ops", which is not a channel id/),
      expect.stringMatching(/^OPERATORS names "alice", which is not a user id \(U…\/W…\) or a user group id \(S…\)/),
      expect.stringMatching(/^RESTORE_REASON must be one of optional, required/),
      expect.stringMatching(/^RESTORE_REJECTIONS must be a positive whole number/),
    ]);
  });
});
