import { Writable } from 'node:stream';
import { LogLevel } from '@slack/bolt';
import { boltLogger, createLogger, REDACTED, redactText, type Logger } from './logger';

const BOT_TOKEN = 'xoxb-1234-5678-SeCrEtBoTtOkEn';
const APP_TOKEN = 'xapp-1-A0SECRET-9999-SeCrEtApP';
const SIGNING_SECRET = 'sIgNiNg-SeCrEt-0f1e2d3c';
const PASSWORD = 'pw-SeCrEt-Hunter2';
/** A password with the characters JSON escapes: it shows up escaped in a log line. */
const ODD_PASSWORD = 'q"uo\\te-SeCrEt\\';
const SECRETS = [BOT_TOKEN, APP_TOKEN, SIGNING_SECRET, PASSWORD, ODD_PASSWORD];
const BASIC = `Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}`;

/** A Writable that keeps every line pino writes, and resolves a wait once a line matches. */
function collector() {
  const lines: string[] = [];
  const waits: Array<{ match: (l: string) => boolean; resolve: () => void }> = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      for (const line of String(chunk).split('\n')) {
        if (line === '') continue;
        lines.push(line);
        for (const w of [...waits]) {
          if (w.match(line)) {
            waits.splice(waits.indexOf(w), 1);
            w.resolve();
          }
        }
      }
      callback();
    },
  });
  /** Logs an end marker through `logger` and resolves with every line once it has arrived. */
  const flush = (logger: Logger): Promise<string[]> => {
    const marker = `end-of-test-${lines.length}-${waits.length}`;
    const arrived = new Promise<void>((resolve) => waits.push({ match: (l) => l.includes(marker), resolve }));
    logger.fatal(marker);
    return arrived.then(() => lines.filter((l) => !l.includes(marker)));
  };
  return { stream, lines, flush };
}

function expectClean(lines: readonly string[]): void {
  for (const line of lines) {
    expect(() => JSON.parse(line) as unknown).not.toThrow();
    for (const s of [...SECRETS, JSON.stringify(ODD_PASSWORD).slice(1, -1), BASIC]) expect(line).not.toContain(s);
    expect(line).not.toMatch(/SeCrEt/);
  }
}

describe('createLogger redaction', () => {
  let out: ReturnType<typeof collector>;
  let logger: Logger;
  beforeEach(() => {
    out = collector();
    logger = createLogger({ level: 'info', secrets: SECRETS, destination: out.stream });
  });

  it('hides secrets in every shape a log line can carry them', async () => {
    logger.info({ token: BOT_TOKEN }, 'token field');
    logger.info({ password: PASSWORD }, 'password field');
    logger.info({ headers: { authorization: BASIC } }, 'auth header');
    logger.info({ req: { headers: { authorization: `Bearer ${BOT_TOKEN}`, 'x-slack-signature': 'v0=abc' } } }, 'request');
    logger.info({ config: { slack: { botToken: BOT_TOKEN, signingSecret: SIGNING_SECRET, appToken: APP_TOKEN }, backupManager: { password: PASSWORD } } }, 'config');
    logger.info({ a: { b: { c: { d: { e: { secretish: BOT_TOKEN, passwd: PASSWORD } } } } } }, 'deep');
    logger.error({ err: new Error(`chat.postMessage failed for token ${BOT_TOKEN}`) }, 'slack error');
    logger.error(new Error(`login as admin with ${PASSWORD} refused`));
    logger.warn(`connecting with password ${PASSWORD} and signing secret ${SIGNING_SECRET}`);
    logger.info({ url: `https://admin:${PASSWORD}@backup-manager:3000/instances/a9s-pg` }, 'url field');
    logger.info(`GET https://admin:${PASSWORD}@backup-manager:3000/instances failed`);
    logger.info({ line: `Authorization: ${BASIC}` }, 'header quoted in text');
    logger.info({ body: `{"password":"${ODD_PASSWORD}"}` }, `odd password ${ODD_PASSWORD} in text`);
    logger.info({ env: { SLACK_BOT_TOKEN: BOT_TOKEN, SLACK_APP_TOKEN: APP_TOKEN, SLACK_SIGNING_SECRET: SIGNING_SECRET, BACKUP_MANAGER_PASSWORD: PASSWORD } }, 'env');
    logger.info({ list: [BOT_TOKEN, { nested: [PASSWORD] }] }, 'arrays');
    logger.info({ [BOT_TOKEN]: 'secret as a key' }, 'key');

    const lines = await out.flush(logger);
    expect(lines).toHaveLength(16);
    expectClean(lines);
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    // What is not secret survives: messages, the user of a URL, the shape of objects.
    expect(parsed.map((p) => p.msg)).toEqual(expect.arrayContaining(['token field', 'config', 'slack error']));
    expect(parsed[0]).toMatchObject({ token: REDACTED, name: 'pgbackup-bot', level: 30 });
    expect(parsed[4]).toMatchObject({ config: { slack: { botToken: REDACTED, signingSecret: REDACTED, appToken: REDACTED }, backupManager: { password: REDACTED } } });
    expect(parsed[9]).toMatchObject({ url: `https://admin:${REDACTED}@backup-manager:3000/instances/a9s-pg` });
    expect(JSON.stringify(parsed[6])).toContain('chat.postMessage failed for token');
  });

  it('keeps lines valid JSON when a URL with a port and an @ share a line', async () => {
    logger.info({ url: 'http://backup-manager:3000', requester: '<@U0ALICE>' }, 'trigger');
    logger.info({ base: 'http://bm:3000/api', who: 'ops@example.com' }, 'second');
    const lines = await out.flush(logger);
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(parsed[0]).toMatchObject({ url: 'http://backup-manager:3000', requester: '<@U0ALICE>' });
    expect(parsed[1]).toMatchObject({ base: 'http://bm:3000/api', who: 'ops@example.com' });
  });

  it('drops lines below the level', async () => {
    logger.debug({ token: BOT_TOKEN }, 'hidden');
    logger.info('shown');
    const lines = await out.flush(logger);
    expect(lines.map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(['shown']);
  });
});

describe('redactText', () => {
  it('replaces known secrets wherever they appear', () => {
    expect(redactText(`a ${PASSWORD} b ${PASSWORD}`, [PASSWORD])).toBe(`a ${REDACTED} b ${REDACTED}`);
  });

  it('ignores known "secrets" too short to be anything but noise', () => {
    expect(redactText('a b c abc', ['abc', 'a', ''])).toBe('a b c abc');
  });

  it.each([
    ['a bot token', `token=${'xoxb-' + '123-456-abcDEF'}`, 'token=[REDACTED]'],
    ['a user token', 'xoxp-1-2-3-abc', REDACTED],
    ['an app token', 'app xapp-1-A0-123-abc end', `app ${REDACTED} end`],
    ['basic credentials', `Authorization: ${BASIC}`, `Authorization: ${REDACTED}`],
    ['a bearer token', 'authorization: bearer abc.def-ghi_jkl', `authorization: ${REDACTED}`],
    ['URL credentials, keeping the user', 'https://admin:pw@host/x', `https://admin:${REDACTED}@host/x`],
    ['several URLs', 'http://a:1@h1 and http://b:2@h2', `http://a:${REDACTED}@h1 and http://b:${REDACTED}@h2`],
  ])('hides %s', (_what, input, expected) => {
    expect(redactText(input)).toBe(expected);
  });

  it('leaves ordinary text alone', () => {
    const text = 'backup 148 of a9s-pg done at http://backup-manager:3000 for <@U0ALICE>, see ops@example.com';
    expect(redactText(text, [PASSWORD])).toBe(text);
  });

  it('redacts a secret that is also part of a URL', () => {
    const out = redactText(`https://admin:${PASSWORD}@bm:3000`, [PASSWORD]);
    expect(out).not.toContain(PASSWORD);
    expect(out).toContain('https://admin:');
  });
});

describe('boltLogger', () => {
  let out: ReturnType<typeof collector>;
  let logger: Logger;
  beforeEach(() => {
    out = collector();
    logger = createLogger({ level: 'info', secrets: SECRETS, destination: out.stream });
  });

  it('writes Bolt and Web API messages through pino, redacted', async () => {
    const bolt = boltLogger(logger);
    bolt.info('http request', { url: 'https://slack.com/api/chat.postMessage', token: BOT_TOKEN });
    bolt.warn('retrying with', `Bearer ${BOT_TOKEN}`);
    bolt.error(new Error(`An API error occurred: invalid_auth (${APP_TOKEN})`));
    bolt.error('signature', SIGNING_SECRET, 'did not match');
    const lines = await out.flush(logger);
    expect(lines).toHaveLength(4);
    expectClean(lines);
    const parsed = lines.map((l) => JSON.parse(l) as { component: string; msg: string; level: number });
    expect(parsed.every((p) => p.component === 'bolt')).toBe(true);
    expect(parsed.map((p) => p.level)).toEqual([30, 40, 50, 50]);
    expect(parsed[0]?.msg).toContain('http request');
    expect(parsed[2]?.msg).toContain('An API error occurred: invalid_auth');
  });

  it('keeps our level unless Bolt asks for debug, and reports it', async () => {
    const bolt = boltLogger(logger);
    expect(bolt.getLevel()).toBe(LogLevel.INFO);
    bolt.setLevel(LogLevel.ERROR);
    expect(bolt.getLevel()).toBe(LogLevel.INFO);
    bolt.debug('not yet');
    bolt.setLevel(LogLevel.DEBUG);
    expect(bolt.getLevel()).toBe(LogLevel.DEBUG);
    bolt.debug('now shown');
    const lines = await out.flush(logger);
    expect(lines.map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(['now shown']);
  });

  it('names its component after setName', async () => {
    const bolt = boltLogger(logger);
    bolt.setName('web-api:WebClient:0');
    bolt.info('hello');
    const lines = await out.flush(logger);
    expect(JSON.parse(lines[0] ?? '{}')).toMatchObject({ component: 'web-api:WebClient:0', msg: 'hello' });
  });

  it('never throws on values JSON can not encode', async () => {
    const bolt = boltLogger(logger);
    const circular: Record<string, unknown> = { token: BOT_TOKEN };
    circular.self = circular;
    expect(() => bolt.warn('circular', circular)).not.toThrow();
    expect(() => bolt.warn('big', 10n)).not.toThrow();
    const lines = await out.flush(logger);
    expect(lines).toHaveLength(2);
    expectClean(lines);
  });
});

/** The keys of a JSON object's top level, in order and with repeats, read from the raw text (JSON.parse keeps only the last). */
function topLevelKeys(json: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  for (let i = 0; i < json.length; i++) {
    const c = json[i];
    if (c === '"') {
      let j = i + 1;
      while (json[j] !== '"') j += json[j] === '\\' ? 2 : 1;
      let k = j + 1;
      while (json[k] === ' ') k++;
      if (depth === 1 && json[k] === ':') keys.push(JSON.parse(json.slice(i, j + 1)) as string);
      i = j;
    } else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
  }
  return keys;
}

describe('one component per line', () => {
  it('reads keys from raw JSON text, repeats included', () => {
    expect(topLevelKeys('{"a":1,"b":{"a":2},"c":"x\\"a\\":","a":3}')).toEqual(['a', 'b', 'c', 'a']);
  });

  it('writes the most specific component once, however the loggers were nested', async () => {
    const out = collector();
    const logger = createLogger({ level: 'info', destination: out.stream });
    const manager = logger.child({ component: 'backup-manager' });
    // The client adds its component to the logger it is given, which has one already.
    manager.child({ component: 'backup-manager' }).info('nested twice');
    manager.child({ component: 'poller' }).info('nested other');
    boltLogger(logger.child({ component: 'outbox' })).info('bolt under outbox');
    manager.info({ component: 'inline', nested: { other: 1, component: 'kept' } }, 'in the object too');
    const lines = await out.flush(logger);
    expect(lines).toHaveLength(4);
    for (const line of lines) {
      const keys = topLevelKeys(line);
      expect(keys.filter((k) => k === 'component')).toHaveLength(1);
      expect(new Set(keys).size).toBe(keys.length);
    }
    expect(lines.map((l) => (JSON.parse(l) as { component: string }).component)).toEqual(['backup-manager', 'poller', 'bolt', 'inline']);
    expect((JSON.parse(lines[3] as string) as { nested: { component: string } }).nested.component).toBe('kept');
  });
});
