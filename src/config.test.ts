import { ConfigError, loadConfig, secretsOf, type Config } from './config';

type Env = Record<string, string | undefined>;

/** A readFile over an in-memory map; unknown paths fail like fs does, with ENOENT. */
function files(contents: Record<string, string> = {}): (path: string) => string {
  return (path) => {
    const body = contents[path];
    if (body === undefined) throw Object.assign(new Error(`ENOENT: no such file or directory, open '${path}'`), { code: 'ENOENT' });
    return body;
  };
}

const PRODUCTION: Env = {
  SLACK_BOT_TOKEN: 'xoxb-1111-2222-abcdef',
  SLACK_SIGNING_SECRET: 'signing-secret-0123456789',
  BACKUP_MANAGER_URL: 'http://backup-manager.service.dc1.consul:3000',
  BACKUP_MANAGER_PASSWORD: 'manager-password-0123',
};

function load(env: Env, readFile = files()): Config {
  return loadConfig(env, readFile);
}

/** The ConfigError a bad environment throws (fails the test when none is thrown). */
function problemsOf(env: Env, readFile = files()): ConfigError {
  try {
    loadConfig(env, readFile);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError, but the configuration was accepted');
}

describe('loadConfig', () => {
  describe('defaults of the behaviour.md table', () => {
    const config = load(PRODUCTION);

    it.each<[string, (c: Config) => unknown, unknown]>([
      ['PORT', (c) => c.port, 3000],
      ['BACKUP_MANAGER_USERNAME', (c) => c.backupManager?.username, 'admin'],
      ['BACKUP_MANAGER_CA_FILE', (c) => c.backupManager?.caFile, undefined],
      ['SLACK_APP_TOKEN', (c) => c.slack?.appToken, undefined],
      ['SLACK_API_URL', (c) => c.slack?.apiUrl, undefined],
      ['DEFAULT_INSTANCE', (c) => c.defaultInstance, 'a9s-pg'],
      ['ALLOWED_INSTANCES', (c) => c.allowedInstances, []],
      ['NOTIFY_CHANNEL', (c) => c.notifyChannel, undefined],
      ['WATCH_INSTANCES', (c) => c.watchInstances, ['a9s-pg']],
      ['RESTORE_APPROVERS', (c) => c.restoreApprovers, []],
      ['RESTORE_APPROVALS', (c) => c.restoreApprovals, 1],
      ['APPROVAL_TTL_MS', (c) => c.approvalTtlMs, 3_600_000],
      ['POLL_INTERVAL_MS', (c) => c.pollIntervalMs, 5_000],
      ['WATCH_INTERVAL_MS', (c) => c.watchIntervalMs, 60_000],
      ['STALE_AFTER_HOURS', (c) => c.staleAfterHours, 26],
      ['STATE_DB', (c) => c.stateDb, './data/pgbackup.sqlite'],
      ['LOG_TAIL_FILE', (c) => c.logTailFile, undefined],
      ['LOG_TAIL_COMMAND', (c) => c.logTailCommand, undefined],
      ['LOG_TAIL_LABEL', (c) => c.logTailLabel, undefined],
      ['LOG_LEVEL', (c) => c.logLevel, 'info'],
      ['BACKUP_MANAGER_API', (c) => c.backupManagerApi, 'auto'],
    ])('%s defaults as documented', (_name, read, expected) => {
      expect(read(config)).toEqual(expected);
    });

    it('runs in production mode with the given Slack and Backup Manager settings', () => {
      expect(config.mode).toBe('production');
      expect(config.slack).toEqual({
        botToken: 'xoxb-1111-2222-abcdef',
        signingSecret: 'signing-secret-0123456789',
        appToken: undefined,
        apiUrl: undefined,
      });
      expect(config.backupManager).toEqual({
        url: 'http://backup-manager.service.dc1.consul:3000',
        username: 'admin',
        password: 'manager-password-0123',
        caFile: undefined,
      });
    });

    it('treats blank values like unset ones', () => {
      const c = load({ ...PRODUCTION, PORT: '  ', LOG_LEVEL: '', DEFAULT_INSTANCE: ' ', BACKUP_MANAGER_USERNAME: '' });
      expect(c.port).toBe(3000);
      expect(c.logLevel).toBe('info');
      expect(c.defaultInstance).toBe('a9s-pg');
      expect(c.backupManager?.username).toBe('admin');
    });
  });

  describe('every variable of the table is read', () => {
    const config = load(
      {
        SLACK_BOT_TOKEN: 'xoxb-1-2-3',
        SLACK_APP_TOKEN: 'xapp-1-A1-xyz',
        SLACK_API_URL: 'http://127.0.0.1:4000/api',
        PORT: '8080',
        BACKUP_MANAGER_URL: 'https://bm.example:3000/',
        BACKUP_MANAGER_USERNAME: 'operator',
        BACKUP_MANAGER_PASSWORD_FILE: '/run/secrets/bm',
        BACKUP_MANAGER_CA_FILE: '/etc/ssl/bm-ca.pem',
        DEFAULT_INSTANCE: 'pg1',
        ALLOWED_INSTANCES: 'pg1, a9s-pg ,,pg2',
        NOTIFY_CHANNEL: 'C0ALERTS',
        WATCH_INSTANCES: 'pg1,pg2',
        RESTORE_APPROVERS: 'U0BOB, U0CAROL',
        RESTORE_APPROVALS: '2',
        APPROVAL_TTL_MS: '60000',
        POLL_INTERVAL_MS: '250',
        WATCH_INTERVAL_MS: '1000',
        STATE_DB: ':memory:',
        LOG_TAIL_COMMAND: 'bosh -d pg ssh pg/0 -c "tail -F /var/vcap/sys/log/backup-agent/production.log"',
        LOG_LEVEL: 'DEBUG',
      },
      files({ '/run/secrets/bm': '  s3cret-from-file\n', '/etc/ssl/bm-ca.pem': '-----BEGIN CERTIFICATE-----' }),
    );

    it('reads Slack settings, in Socket Mode without a signing secret', () => {
      expect(config.slack).toEqual({ botToken: 'xoxb-1-2-3', signingSecret: undefined, appToken: 'xapp-1-A1-xyz', apiUrl: 'http://127.0.0.1:4000/api/' });
    });

    it('reads the Backup Manager settings, the password from its file, trimmed', () => {
      expect(config.backupManager).toEqual({ url: 'https://bm.example:3000', username: 'operator', password: 's3cret-from-file', caFile: '/etc/ssl/bm-ca.pem' });
    });

    it('reads the rest', () => {
      expect(config).toMatchObject({
        mode: 'production',
        port: 8080,
        defaultInstance: 'pg1',
        allowedInstances: ['pg1', 'a9s-pg', 'pg2'],
        notifyChannel: 'C0ALERTS',
        watchInstances: ['pg1', 'pg2'],
        restoreApprovers: ['U0BOB', 'U0CAROL'],
        restoreApprovals: 2,
        approvalTtlMs: 60_000,
        pollIntervalMs: 250,
        watchIntervalMs: 1000,
        stateDb: ':memory:',
        logTailFile: undefined,
        logTailCommand: 'bosh -d pg ssh pg/0 -c "tail -F /var/vcap/sys/log/backup-agent/production.log"',
        logLevel: 'debug',
      });
    });

    it('lists the secrets for redaction', () => {
      expect(secretsOf(config).sort()).toEqual(['s3cret-from-file', 'xapp-1-A1-xyz', 'xoxb-1-2-3'].sort());
    });
  });

  describe('mode', () => {
    it('is the sandbox when neither SLACK_BOT_TOKEN nor BACKUP_MANAGER_URL is set', () => {
      const c = load({});
      expect(c.mode).toBe('sandbox');
      expect(c.slack).toBeUndefined();
      expect(c.backupManager).toBeUndefined();
    });

    it('refuses SLACK_BOT_TOKEN without BACKUP_MANAGER_URL', () => {
      const err = problemsOf({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 'sig-secret' });
      expect(err.problems).toEqual([expect.stringContaining('BACKUP_MANAGER_URL is required')]);
    });

    it('refuses BACKUP_MANAGER_URL without SLACK_BOT_TOKEN', () => {
      const err = problemsOf({ BACKUP_MANAGER_URL: 'http://bm:3000', BACKUP_MANAGER_PASSWORD: 'pw-12345' });
      expect(err.problems).toEqual([expect.stringContaining('SLACK_BOT_TOKEN is required')]);
    });

    it('needs SLACK_SIGNING_SECRET in HTTP mode', () => {
      const err = problemsOf({ ...PRODUCTION, SLACK_SIGNING_SECRET: undefined });
      expect(err.problems).toEqual([expect.stringContaining('SLACK_SIGNING_SECRET is required in HTTP mode')]);
    });

    it('does not need SLACK_SIGNING_SECRET in Socket Mode', () => {
      const c = load({ ...PRODUCTION, SLACK_SIGNING_SECRET: undefined, SLACK_APP_TOKEN: 'xapp-1-A-b' });
      expect(c.slack?.appToken).toBe('xapp-1-A-b');
      expect(c.slack?.signingSecret).toBeUndefined();
    });

    it('refuses tokens of the wrong kind', () => {
      const err = problemsOf({ ...PRODUCTION, SLACK_BOT_TOKEN: 'xapp-not-a-bot-token', SLACK_APP_TOKEN: 'xoxb-not-an-app-token' });
      expect(err.message).toContain('SLACK_BOT_TOKEN must be a bot token');
      expect(err.message).toContain('SLACK_APP_TOKEN must be an app-level token');
    });

    it('takes fractional STALE_AFTER_HOURS and refuses zero, negatives and words', () => {
      expect(load({ ...PRODUCTION, STALE_AFTER_HOURS: '0.5' }).staleAfterHours).toBe(0.5);
      for (const bad of ['0', '-2', 'a day']) expect(problemsOf({ ...PRODUCTION, STALE_AFTER_HOURS: bad }).message).toContain('STALE_AFTER_HOURS must be a positive number of hours');
    });
  });

  describe('Backup Manager password', () => {
    const base: Env = { ...PRODUCTION, BACKUP_MANAGER_PASSWORD: undefined };

    it('is required in production', () => {
      expect(problemsOf(base).problems).toEqual(['BACKUP_MANAGER_PASSWORD or BACKUP_MANAGER_PASSWORD_FILE is required']);
    });

    it('is read from BACKUP_MANAGER_PASSWORD_FILE and trimmed', () => {
      const c = load({ ...base, BACKUP_MANAGER_PASSWORD_FILE: '/s/pw' }, files({ '/s/pw': '\n\t pw-from-credhub \r\n' }));
      expect(c.backupManager?.password).toBe('pw-from-credhub');
    });

    it('reports an unreadable file with its error code, not its content or a stack', () => {
      const err = problemsOf({ ...base, BACKUP_MANAGER_PASSWORD_FILE: '/missing' });
      expect(err.problems).toEqual([expect.stringMatching(/^BACKUP_MANAGER_PASSWORD_FILE can not be read \(ENOENT\)$/)]);
    });

    it('reports an empty file', () => {
      const err = problemsOf({ ...base, BACKUP_MANAGER_PASSWORD_FILE: '/s/pw' }, files({ '/s/pw': ' \n ' }));
      expect(err.problems).toEqual(['BACKUP_MANAGER_PASSWORD_FILE points to an empty file']);
    });

    it('refuses both forms at once', () => {
      const err = problemsOf({ ...PRODUCTION, BACKUP_MANAGER_PASSWORD_FILE: '/s/pw' }, files({ '/s/pw': 'other' }));
      expect(err.message).toContain('set only one of BACKUP_MANAGER_PASSWORD and BACKUP_MANAGER_PASSWORD_FILE');
    });

    it('reports an unreadable CA file', () => {
      const err = problemsOf({ ...PRODUCTION, BACKUP_MANAGER_CA_FILE: '/nope.pem' });
      expect(err.problems).toEqual(['BACKUP_MANAGER_CA_FILE can not be read (ENOENT)']);
    });
  });

  describe('STATE_DB on PostgreSQL', () => {
    const url = 'postgres://pgbackup@state-db.internal:5432/pgbackup';

    it('takes a postgres:// URL and its password from STATE_DB_PASSWORD_FILE, listed for redaction', () => {
      const c = load({ ...PRODUCTION, STATE_DB: url, STATE_DB_PASSWORD_FILE: '/s/db' }, files({ '/s/db': 'db-secret-42\n' }));
      expect(c).toMatchObject({ stateDb: url, stateDbPassword: 'db-secret-42' });
      expect(secretsOf(c)).toContain('db-secret-42');
    });

    it('lists a password written in the URL for redaction too', () => {
      const c = load({ ...PRODUCTION, STATE_DB: 'postgresql://u:in-url-secret@db:5432/state' });
      expect(secretsOf(c)).toContain('in-url-secret');
    });

    it('refuses a URL that names a9s-pg: the state must not live in the database it restores', () => {
      for (const target of ['postgres://u@a9s-pg-psql-master-alias.node.dc1.consul:5432/bot', 'postgres://u@db:5432/a9s_pg_state']) {
        expect(problemsOf({ ...PRODUCTION, STATE_DB: target }).problems).toEqual([expect.stringMatching(/points at a9s-pg: the bot's state must not live in the database it restores/)]);
      }
    });

    it('refuses STATE_DB_PASSWORD_FILE with an SQLite file, and an unreadable one', () => {
      expect(problemsOf({ ...PRODUCTION, STATE_DB_PASSWORD_FILE: '/s/db' }, files({ '/s/db': 'x' })).problems).toEqual([
        'STATE_DB_PASSWORD_FILE is only for a postgres:// STATE_DB',
      ]);
      expect(problemsOf({ ...PRODUCTION, STATE_DB: url, STATE_DB_PASSWORD_FILE: '/missing' }).problems).toEqual(['STATE_DB_PASSWORD_FILE can not be read (ENOENT)']);
    });
  });

  describe('URLs', () => {
    it('gives SLACK_API_URL a trailing slash, and keeps one that is there', () => {
      expect(load({ ...PRODUCTION, SLACK_API_URL: 'http://fake-slack:4000/api' }).slack?.apiUrl).toBe('http://fake-slack:4000/api/');
      expect(load({ ...PRODUCTION, SLACK_API_URL: 'https://slack.com/api/' }).slack?.apiUrl).toBe('https://slack.com/api/');
    });

    it('drops trailing slashes of BACKUP_MANAGER_URL', () => {
      expect(load({ ...PRODUCTION, BACKUP_MANAGER_URL: 'http://bm:3000//' }).backupManager?.url).toBe('http://bm:3000');
    });

    it.each(['backup-manager:3000', 'ftp://bm', 'http://', 'http:// bm'])('refuses BACKUP_MANAGER_URL %j', (url) => {
      expect(problemsOf({ ...PRODUCTION, BACKUP_MANAGER_URL: url }).message).toContain('BACKUP_MANAGER_URL must be an http(s) URL');
    });

    it('refuses credentials in BACKUP_MANAGER_URL without echoing the password', () => {
      const err = problemsOf({ ...PRODUCTION, BACKUP_MANAGER_URL: 'http://admin:Hunter2-url-secret@bm:3000' });
      expect(err.message).toContain('BACKUP_MANAGER_URL must not carry credentials');
      expect(err.message).not.toContain('Hunter2-url-secret');
      expect(err.message).not.toContain('bm:3000');
    });

    it('refuses a bad SLACK_API_URL', () => {
      expect(problemsOf({ ...PRODUCTION, SLACK_API_URL: 'slack.com/api' }).message).toContain('SLACK_API_URL must be an http(s) URL');
    });
  });

  describe('instance lists', () => {
    it('parses comma lists, trimming and dropping empty items', () => {
      const c = load({ ...PRODUCTION, ALLOWED_INSTANCES: ' a9s-pg , pg1,, ,pg2 ', WATCH_INSTANCES: 'pg1 ,a9s-pg' });
      expect(c.allowedInstances).toEqual(['a9s-pg', 'pg1', 'pg2']);
      expect(c.watchInstances).toEqual(['pg1', 'a9s-pg']);
    });

    it('watches DEFAULT_INSTANCE when WATCH_INSTANCES is unset or empty', () => {
      expect(load({ ...PRODUCTION, DEFAULT_INSTANCE: 'pg7' }).watchInstances).toEqual(['pg7']);
      expect(load({ ...PRODUCTION, DEFAULT_INSTANCE: 'pg7', WATCH_INSTANCES: ' , ' }).watchInstances).toEqual(['pg7']);
    });

    it('needs DEFAULT_INSTANCE among ALLOWED_INSTANCES', () => {
      expect(problemsOf({ ...PRODUCTION, ALLOWED_INSTANCES: 'pg1,pg2' }).problems).toEqual(['DEFAULT_INSTANCE must be one of ALLOWED_INSTANCES']);
    });

    it('needs every WATCH_INSTANCES entry among ALLOWED_INSTANCES', () => {
      const err = problemsOf({ ...PRODUCTION, ALLOWED_INSTANCES: 'a9s-pg,pg1', WATCH_INSTANCES: 'pg1,pg9' });
      expect(err.problems).toEqual(['WATCH_INSTANCES names "pg9", which is not in ALLOWED_INSTANCES']);
    });
  });

  describe('restore quorum', () => {
    it('refuses more RESTORE_APPROVALS than RESTORE_APPROVERS lists, with the other problems', () => {
      const err = problemsOf({ ...PRODUCTION, RESTORE_APPROVERS: 'UBOB', RESTORE_APPROVALS: '2', PORT: 'abc' });
      expect(err.problems).toEqual(['PORT must be a positive whole number, got "abc"', 'RESTORE_APPROVALS is 2 but RESTORE_APPROVERS lists only 1: no restore could ever be approved']);
    });

    it('can not count a user group: with one listed, any RESTORE_APPROVALS is accepted', () => {
      expect(loadConfig({ ...PRODUCTION, RESTORE_APPROVERS: 'UBOB,S0APPROVERS', RESTORE_APPROVALS: '3' }).restoreApprovals).toBe(3);
    });

    it('counts a repeated approver once', () => {
      expect(problemsOf({ ...PRODUCTION, RESTORE_APPROVERS: 'UBOB,UBOB', RESTORE_APPROVALS: '2' }).problems).toHaveLength(1);
    });

    it('accepts a quorum the list can reach, and any quorum without a list', () => {
      expect(load({ ...PRODUCTION, RESTORE_APPROVERS: 'UBOB,UCAROL', RESTORE_APPROVALS: '2' }).restoreApprovals).toBe(2);
      expect(load({ ...PRODUCTION, RESTORE_APPROVALS: '3' }).restoreApprovals).toBe(3);
    });
  });

  describe('numbers and levels', () => {
    it.each(['0', '-1', '1.5', 'abc', '70000', '3e3x'])('refuses PORT=%j', (port) => {
      expect(problemsOf({ ...PRODUCTION, PORT: port }).message).toMatch(/PORT must be/);
    });

    it.each(['RESTORE_APPROVALS', 'APPROVAL_TTL_MS', 'POLL_INTERVAL_MS', 'WATCH_INTERVAL_MS'])('refuses %s=0 and non-numbers', (name) => {
      expect(problemsOf({ ...PRODUCTION, [name]: '0' }).message).toContain(`${name} must be a positive whole number`);
      expect(problemsOf({ ...PRODUCTION, [name]: 'soon' }).message).toContain(`${name} must be a positive whole number`);
    });

    it('refuses an unknown LOG_LEVEL and accepts any case of a known one', () => {
      expect(problemsOf({ ...PRODUCTION, LOG_LEVEL: 'verbose' }).message).toContain('LOG_LEVEL must be one of');
      expect(load({ ...PRODUCTION, LOG_LEVEL: 'Warn' }).logLevel).toBe('warn');
    });

    it('reads LOG_TAIL_LABEL, trimmed, and refuses one over 100 characters', () => {
      expect(load({ ...PRODUCTION, LOG_TAIL_LABEL: '  agent log on pg/0 ' }).logTailLabel).toBe('agent log on pg/0');
      expect(problemsOf({ ...PRODUCTION, LOG_TAIL_LABEL: 'x'.repeat(101) }).message).toContain('LOG_TAIL_LABEL must be at most 100 characters');
    });

    it('reads BACKUP_MANAGER_API in any case and refuses an unknown generation along with the other problems', () => {
      expect(load({ ...PRODUCTION, BACKUP_MANAGER_API: ' REST ' }).backupManagerApi).toBe('rest');
      expect(load({ ...PRODUCTION, BACKUP_MANAGER_API: 'legacy' }).backupManagerApi).toBe('legacy');
      const err = problemsOf({ ...PRODUCTION, BACKUP_MANAGER_API: 'v2', LOG_LEVEL: 'loud' });
      expect(err.problems).toEqual(expect.arrayContaining(['BACKUP_MANAGER_API must be one of auto, legacy, rest', expect.stringMatching(/^LOG_LEVEL must be one of/)]));
    });

    it('refuses both log sources at once', () => {
      expect(problemsOf({ ...PRODUCTION, LOG_TAIL_FILE: '/a.log', LOG_TAIL_COMMAND: 'tail -F /a.log' }).problems).toEqual([
        'set only one of LOG_TAIL_FILE and LOG_TAIL_COMMAND',
      ]);
    });
  });

  describe('all problems in one message', () => {
    it('reports a bad PORT, a bad LOG_LEVEL, a missing password and a bad URL together', () => {
      const err = problemsOf({
        SLACK_BOT_TOKEN: 'xoxb-1-2-3',
        SLACK_SIGNING_SECRET: 'sig-secret-1',
        BACKUP_MANAGER_URL: 'not a url',
        PORT: 'eighty',
        LOG_LEVEL: 'loud',
      });
      expect(err).toBeInstanceOf(ConfigError);
      expect(err.name).toBe('ConfigError');
      expect(err.message).toMatch(/^Invalid configuration \(4 problems\):/);
      expect(err.message).toContain('PORT must be a positive whole number, got "eighty"');
      expect(err.message).toContain('LOG_LEVEL must be one of');
      expect(err.message).toContain('BACKUP_MANAGER_URL must be an http(s) URL');
      expect(err.message).toContain('BACKUP_MANAGER_PASSWORD or BACKUP_MANAGER_PASSWORD_FILE is required');
      expect(err.problems).toHaveLength(4);
      // An invalid URL is still a URL that was set: no "SLACK_BOT_TOKEN/BACKUP_MANAGER_URL is required" noise.
      expect(err.message).not.toMatch(/is required when/);
    });

    it('reports schema problems and file problems together', () => {
      const err = problemsOf({ ...PRODUCTION, BACKUP_MANAGER_PASSWORD: undefined, BACKUP_MANAGER_PASSWORD_FILE: '/gone', POLL_INTERVAL_MS: '-5', ALLOWED_INSTANCES: 'pg1' });
      expect(err.problems).toEqual(
        expect.arrayContaining([
          expect.stringContaining('POLL_INTERVAL_MS'),
          'BACKUP_MANAGER_PASSWORD_FILE can not be read (ENOENT)',
          'DEFAULT_INSTANCE must be one of ALLOWED_INSTANCES',
        ]),
      );
      expect(err.problems).toHaveLength(3);
    });

    it('still asks for the signing secret when the bot token itself is malformed', () => {
      const err = problemsOf({ ...PRODUCTION, SLACK_BOT_TOKEN: 'bot-token-without-prefix', SLACK_SIGNING_SECRET: undefined });
      expect(err.message).toContain('SLACK_BOT_TOKEN must be a bot token');
      expect(err.message).toContain('SLACK_SIGNING_SECRET is required in HTTP mode');
      expect(err.message).not.toMatch(/is required when/);
    });
  });

  describe('secrets are never printed', () => {
    const SECRETS = {
      SLACK_BOT_TOKEN: 'xoxb-SECRET-BOT-TOKEN-4242',
      SLACK_SIGNING_SECRET: 'SECRET-SIGNING-4242',
      SLACK_APP_TOKEN: 'xapp-SECRET-APP-TOKEN-4242',
      BACKUP_MANAGER_PASSWORD: 'SECRET-PASSWORD-4242',
    };
    const FILE_PASSWORD = 'SECRET-FILE-PASSWORD-4242';

    function expectNoSecret(text: string): void {
      for (const s of [...Object.values(SECRETS), FILE_PASSWORD]) expect(text).not.toContain(s);
      expect(text).not.toMatch(/SECRET-/);
    }

    it('keeps valid secrets out of an error about other variables', () => {
      const err = problemsOf({
        ...SECRETS,
        BACKUP_MANAGER_URL: 'http://bm:3000',
        PORT: '99999',
        LOG_LEVEL: 'chatty',
        RESTORE_APPROVALS: 'two',
        SLACK_API_URL: 'nope',
        WATCH_INTERVAL_MS: '0',
        SLACK_CHANNEL_INTERVAL_MS: '-1',
        LOG_TAIL_FILE: '/x',
        LOG_TAIL_COMMAND: 'tail -F /x',
      });
      expect(err.problems.length).toBeGreaterThanOrEqual(7);
      expectNoSecret(err.message);
      expectNoSecret(String(err.stack));
      expectNoSecret(JSON.stringify(err));
    });

    it('keeps malformed secrets out of the error that refuses them', () => {
      const err = problemsOf({
        SLACK_BOT_TOKEN: 'SECRET-not-a-bot-token',
        SLACK_APP_TOKEN: 'SECRET-not-an-app-token',
        SLACK_SIGNING_SECRET: SECRETS.SLACK_SIGNING_SECRET,
        BACKUP_MANAGER_URL: 'https://admin:SECRET-in-url@bm:3000',
        BACKUP_MANAGER_PASSWORD: SECRETS.BACKUP_MANAGER_PASSWORD,
        BACKUP_MANAGER_PASSWORD_FILE: '/run/secrets/pw',
      }, files({ '/run/secrets/pw': FILE_PASSWORD }));
      expect(err.problems.length).toBeGreaterThanOrEqual(4);
      expectNoSecret(err.message);
    });

    it('keeps the file password out of every problem', () => {
      const err = problemsOf(
        { ...SECRETS, BACKUP_MANAGER_PASSWORD: undefined, BACKUP_MANAGER_PASSWORD_FILE: '/run/secrets/pw', BACKUP_MANAGER_URL: 'http://bm', PORT: 'x' },
        files({ '/run/secrets/pw': FILE_PASSWORD }),
      );
      expect(err.problems).toEqual([expect.stringContaining('PORT')]);
      expectNoSecret(err.message);
    });
  });
});
