import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildForProcessTests } from '../helpers/build';
import { BOT_TOKEN, MANAGER_PASSWORD, SIGNING_SECRET } from '../e2e/harness';

/** Issue 11 item 13: a state file the bot can not use is one clear line naming it, status 2, no stack. */
describe('startup errors about STATE_DB', () => {
  let main: string;
  let dir: string;

  beforeAll(() => {
    main = buildForProcessTests('startup-errors');
  }, 120_000);
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'pgbackup-startup-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function start(stateDb: string) {
    // Nothing listens on port 1: the bot must fail on the state file before it needs the manager or Slack.
    return spawnSync(process.execPath, [main], {
      env: {
        PATH: process.env.PATH ?? '',
        SLACK_BOT_TOKEN: BOT_TOKEN,
        SLACK_SIGNING_SECRET: SIGNING_SECRET,
        SLACK_API_URL: 'http://127.0.0.1:1/api/',
        BACKUP_MANAGER_URL: 'http://127.0.0.1:1',
        BACKUP_MANAGER_PASSWORD: MANAGER_PASSWORD,
        STATE_DB: stateDb,
        PORT: '1',
        LOG_LEVEL: 'silent',
      },
      encoding: 'utf8',
      timeout: 20_000,
    });
  }

  function expectOneLine(res: ReturnType<typeof start>, path: string, cause: RegExp): void {
    expect(res.status).toBe(2);
    const lines = res.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(path);
    expect(lines[0]).toMatch(cause);
    expect(res.stderr).not.toMatch(/\n\s+at |SqliteError:/);
    expect(res.stderr + res.stdout).not.toContain(MANAGER_PASSWORD);
  }

  it('names a file that is not a database', () => {
    const path = join(dir, 'state.sqlite');
    writeFileSync(path, 'not a database, just text\n'.repeat(200));
    expectOneLine(start(path), path, /not an SQLite database/);
  });

  it('names a directory it can not create or write (a file sits where the directory should be)', () => {
    writeFileSync(join(dir, 'data'), 'a file, not a directory');
    const path = join(dir, 'data', 'state.sqlite');
    expectOneLine(start(path), path, /is not a directory/);
  });

  it('names a read-only place (the proc file system)', () => {
    const path = '/proc/self/pgbackup-state.sqlite';
    expectOneLine(start(path), path, /can not be (written|opened or created)/);
  });
});
