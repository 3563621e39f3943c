import { checkInstance, parseCommand, type Command, type ParseContext } from './command-parser';
import { prng } from '../../../test/helpers/prng';

const OPEN: ParseContext = { defaultInstance: 'a9s-pg', allowedInstances: [] };
const LISTED: ParseContext = { defaultInstance: 'a9s-pg', allowedInstances: ['a9s-pg', 'pg1', 'orders-db'] };

const parse = (text: string, ctx: ParseContext = OPEN): Command => parseCommand(text, ctx);

function problemOf(command: Command): string {
  if (command.kind !== 'invalid') throw new Error(`expected an invalid command, got ${JSON.stringify(command)}`);
  return command.problem;
}

describe('parseCommand grammar', () => {
  describe('help', () => {
    it.each(['', ' ', '\t\n', 'help', 'HELP', '  Help  ', 'help me please'])('%j is help', (text) => {
      expect(parse(text)).toEqual({ kind: 'help' });
    });
  });

  describe('now [instance]', () => {
    it('uses DEFAULT_INSTANCE when no instance is named', () => {
      expect(parse('now')).toEqual({ kind: 'now', instance: 'a9s-pg' });
    });

    it('takes one instance', () => {
      expect(parse('now pg1')).toEqual({ kind: 'now', instance: 'pg1' });
      expect(parse('  NOW \t orders-db ')).toEqual({ kind: 'now', instance: 'orders-db' });
    });

    it('refuses more than one word after it', () => {
      expect(problemOf(parse('now pg1 pg2'))).toBe('`now` takes at most one instance name.');
    });

    it('refuses an instance name that can not be one', () => {
      expect(problemOf(parse('now -pg'))).toBe('"-pg" is not a valid instance name.');
      expect(problemOf(parse('now pg/1'))).toMatch(/is not a valid instance name/);
      expect(problemOf(parse(`now ${'p'.repeat(101)}`))).toMatch(/^"p{40}…" is not a valid instance name\.$/);
    });
  });

  describe('list|status [instance]', () => {
    it.each(['list', 'LIST'])('%s lists the default instance', (verb) => {
      expect(parse(verb)).toEqual({ kind: 'list', instance: 'a9s-pg' });
    });

    it.each(['status', 'Status', ' status '])('%s alone asks for the overview of every instance', (verb) => {
      expect(parse(verb)).toEqual({ kind: 'overview' });
    });

    it('lists a named instance', () => {
      expect(parse('status pg1')).toEqual({ kind: 'list', instance: 'pg1' });
      expect(parse('list pg1')).toEqual({ kind: 'list', instance: 'pg1' });
    });

    it('refuses extra words', () => {
      expect(problemOf(parse('status pg1 now'))).toBe('`status` takes at most one instance name.');
    });
  });

  describe('restore <backup> [instance] [reason…]', () => {
    it('takes a numeric backup id on the default instance', () => {
      expect(parse('restore 148')).toEqual({ kind: 'restore', backup: { kind: 'id', id: 148 }, instance: 'a9s-pg', reason: '' });
    });

    it('takes a backup name and the instance it implies', () => {
      expect(parse('restore a9s-pg-1542859215559')).toEqual({
        kind: 'restore',
        backup: { kind: 'name', name: 'a9s-pg-1542859215559' },
        instance: 'a9s-pg',
        reason: '',
      });
      expect(parse('restore orders-db-1542859215559 broken migration')).toEqual({
        kind: 'restore',
        backup: { kind: 'name', name: 'orders-db-1542859215559' },
        instance: 'orders-db',
        reason: 'broken migration',
      });
    });

    it('takes an instance after the backup id when it looks like one', () => {
      expect(parse('restore 148 pg1 bad migration')).toEqual({ kind: 'restore', backup: { kind: 'id', id: 148 }, instance: 'pg1', reason: 'bad migration' });
      expect(parse('restore 148 a9s-pg')).toEqual({ kind: 'restore', backup: { kind: 'id', id: 148 }, instance: 'a9s-pg', reason: '' });
    });

    it('reads a plain word after the backup as the start of the reason', () => {
      expect(parse('restore 148 bad migration, rows lost')).toEqual({
        kind: 'restore',
        backup: { kind: 'id', id: 148 },
        instance: 'a9s-pg',
        reason: 'bad migration, rows lost',
      });
    });

    it('joins the reason with single spaces, whatever the whitespace', () => {
      const cmd = parse('restore 148 pg1   two\tspaced\nwords');
      expect(cmd).toMatchObject({ kind: 'restore', reason: 'two spaced words' });
    });

    it('keeps the reason as typed (escaping is the renderers\' job)', () => {
      expect(parse('restore 148 <!channel> & <@U123>')).toMatchObject({ kind: 'restore', instance: 'a9s-pg', reason: '<!channel> & <@U123>' });
    });

    it('needs a backup', () => {
      expect(problemOf(parse('restore'))).toMatch(/^`restore` needs the backup to restore/);
    });

    it.each(['abc', '-5', '1.5', '1e3', '0x10', '1234567890123456', 'a9s-pg-15428', 'a9s-pg-', '-1542859215559', '148,149'])(
      'refuses the malformed backup %j',
      (ref) => {
        expect(problemOf(parse(`restore ${ref}`))).toMatch(/is not a backup id \(a number like 148\) or a backup name/);
      },
    );

    it('refuses a reason longer than 500 characters and accepts one of 500', () => {
      const ok = 'r'.repeat(500);
      expect(parse(`restore 148 ${ok}`)).toMatchObject({ kind: 'restore', reason: ok });
      expect(problemOf(parse(`restore 148 ${ok}x`))).toBe('The reason is too long (501 characters; at most 500).');
    });
  });

  describe('unknown input', () => {
    it.each(['backup', 'nowpg', 'restor 148', 'delete 148', '/pgbackup now'])('refuses %j and names the word', (text) => {
      expect(problemOf(parse(text))).toMatch(/^Unknown subcommand ".+"\.$/);
    });

    it('shows at most 40 characters of the word, without control characters of mrkdwn', () => {
      expect(problemOf(parse('<script>alert(1)</script>'))).toBe('Unknown subcommand "scriptalert(1)/script".');
      expect(problemOf(parse(`${'x'.repeat(60)}`))).toBe(`Unknown subcommand "${'x'.repeat(40)}…".`);
    });

    it('never splits an emoji when it shortens a word', () => {
      const problem = problemOf(parse(`a${'😀'.repeat(50)}`));
      expect(problem).toBe(`Unknown subcommand "a${'😀'.repeat(39)}…".`);
    });
  });

  describe('allow-list', () => {
    it('accepts listed instances', () => {
      expect(parse('now orders-db', LISTED)).toEqual({ kind: 'now', instance: 'orders-db' });
      expect(parse('list pg1', LISTED)).toEqual({ kind: 'list', instance: 'pg1' });
    });

    it('refuses other instances and names the allowed ones', () => {
      expect(problemOf(parse('now pg2', LISTED))).toBe('Instance "pg2" is not allowed here. Allowed: a9s-pg, pg1, orders-db.');
      expect(problemOf(parse('status secret-db', LISTED))).toMatch(/^Instance "secret-db" is not allowed here/);
    });

    it('refuses a backup name whose instance is not listed', () => {
      expect(problemOf(parse('restore pg2-1542859215559', LISTED))).toMatch(/^Instance "pg2" is not allowed here/);
    });

    it('refuses a default instance outside the list', () => {
      expect(problemOf(parse('now', { defaultInstance: 'pg9', allowedInstances: ['pg1'] }))).toMatch(/^Instance "pg9" is not allowed here/);
    });

    it('takes a listed word after the backup as the instance and refuses an unlisted instance name', () => {
      expect(parse('restore 148 pg1 why', LISTED)).toMatchObject({ kind: 'restore', instance: 'pg1', reason: 'why' });
      expect(problemOf(parse('restore 148 pg2 why', LISTED))).toMatch(/^Instance "pg2" is not allowed here/);
    });
  });

  describe('checkInstance', () => {
    it('accepts names the manager uses and refuses others', () => {
      expect(checkInstance('a9s-pg', OPEN)).toBeUndefined();
      expect(checkInstance('d7e2c1a0-3b4f.pg_1', OPEN)).toBeUndefined();
      expect(checkInstance('.hidden', OPEN)).toMatch(/not a valid instance name/);
      expect(checkInstance('a'.repeat(101), OPEN)).toMatch(/not a valid instance name/);
    });
  });
});


const VERBS = ['now', 'list', 'status', 'restore', 'help', 'NOW', 'Restore', 'ｎｏｗ', 'now\u200B', '\u200Fnow', 'rest\u00ADore', 'drop', '', '!', '`now`'];
const ATOMS = [
  // plausible words
  'a9s-pg', 'pg1', 'orders-db', '148', '0', '007', 'a9s-pg-1542859215559', 'pg1-1542859215559', 'bad', 'migration',
  // unicode, emoji, RTL and zero-width
  'ümlaut', 'Straße', 'İstanbul', '中文数据库', 'Ωμέγα', 'العربية', 'עברית', '😀', '👩‍👩‍👧‍👦', '🏳️‍🌈', '\u{1F600}'.repeat(30),
  '\u200F', '\u202E', '\u202Egp-s9a', '\u061C', '\u200B', '\u200C', '\u200D', '\uFEFF', 'pg\u200B1', 'a\u0301', 'ﬁ', '①', '\uD800', '\uDC00x',
  // injection-looking strings and Slack control sequences
  '<script>alert(1)</script>', "'; DROP TABLE restore_requests; --", '$(rm -rf /)', '`rm -rf /`', '```', '``', '`',
  '<@U123>', '<!channel>', '<!here>', '<!everyone>', '<#C123|general>', '<https://evil.example|click>', '&amp;', '&lt;&gt;', '＜!channel＞',
  '${process.env.SLACK_BOT_TOKEN}', '{{7*7}}', '%s%s%n', '\\', '"', "'", '\u0000', '\u0007', '../../etc/passwd', 'xoxb-1-2-3',
  // numbers that are not ids
  '-1', '1.5', '1e3', 'NaN', 'Infinity', '99999999999999999999', '0x1F',
];
const SEPARATORS = [' ', '  ', '\t', '\n', '\r\n', ' \t\n ', '\u00A0', '\u3000', '\u2028', '', ''];

function pick<T>(rand: () => number, list: readonly T[]): T {
  return list[Math.floor(rand() * list.length)] as T;
}

function oddTexts(count: number, seed: number): string[] {
  const rand = prng(seed);
  const texts: string[] = [];
  for (let i = 0; i < count; i++) {
    const shape = rand();
    if (shape < 0.04) {
      // a 10,000-character text, sometimes one single word
      const unit = pick(rand, ATOMS) + (rand() < 0.5 ? pick(rand, SEPARATORS) : '');
      texts.push(`${pick(rand, VERBS)} ${unit.repeat(Math.ceil(10_000 / Math.max(1, unit.length)))}`.slice(0, 10_000));
      continue;
    }
    if (shape < 0.08) {
      // one very long word
      texts.push(`${pick(rand, VERBS)} ${pick(rand, ['x', '9', '😀', '😀a', '<', '`', 'a-']).repeat(200 + Math.floor(rand() * 5000))}`);
      continue;
    }
    const parts: string[] = [pick(rand, SEPARATORS), rand() < 0.85 ? pick(rand, VERBS) : pick(rand, ATOMS)];
    const n = Math.floor(rand() * 7);
    for (let j = 0; j < n; j++) {
      parts.push(pick(rand, SEPARATORS) || ' ');
      let word = pick(rand, ATOMS);
      if (rand() < 0.2) word += pick(rand, ATOMS);
      parts.push(word);
    }
    if (rand() < 0.3) parts.push(pick(rand, SEPARATORS));
    texts.push(parts.join(''));
  }
  return texts;
}

/** Backticks the parser's own sentences use; any other backtick in a problem came from the input. */
const TEMPLATE_CODE = ['`now`', '`list`', '`status`', '`restore`', '`148`', '`a9s-pg-1542859215559`'];
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const INSTANCE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

describe('parseCommand on a generated corpus of 1,000 odd texts', () => {
  const corpus = oddTexts(1000, 0x5eed);

  it('is deterministic and as odd as intended', () => {
    expect(oddTexts(1000, 0x5eed)).toEqual(corpus);
    expect(corpus).toHaveLength(1000);
    expect(corpus.some((t) => t.length >= 10_000)).toBe(true);
    for (const needle of ['<script>', '<!channel>', '`', '\u200B', '\u202E', '😀', '\t', '\n', "'; DROP TABLE"]) {
      expect(corpus.some((t) => t.includes(needle))).toBe(true);
    }
  });

  describe.each<[string, ParseContext]>([
    ['without an allow-list', OPEN],
    ['with an allow-list', LISTED],
  ])('%s', (_name, ctx) => {
    const results = corpus.map((text) => ({ text, command: parseCommand(text, ctx) }));

    it('never throws and always returns one of the kinds', () => {
      for (const text of corpus) expect(() => parseCommand(text, ctx)).not.toThrow();
      for (const { command } of results) expect(['help', 'now', 'list', 'overview', 'restore', 'invalid']).toContain(command.kind);
      const kinds = new Set(results.map((r) => r.command.kind));
      expect([...kinds].sort()).toEqual(['help', 'invalid', 'list', 'now', 'overview', 'restore']);
    });

    it('returns short problems free of the input\'s <, > and backticks', () => {
      for (const { text, command } of results) {
        if (command.kind !== 'invalid') continue;
        const p = command.problem;
        const context = `input ${JSON.stringify(text.slice(0, 80))} gave ${JSON.stringify(p)}`;
        expect({ context, ok: p.length > 0 && p.length <= 300 }).toEqual({ context, ok: true });
        expect({ context, angle: /[<>]/.test(p) }).toEqual({ context, angle: false });
        const rest = TEMPLATE_CODE.reduce((s, c) => s.split(c).join(''), p);
        expect({ context, backtick: rest.includes('`') }).toEqual({ context, backtick: false });
        // Cutting a long word must not split an emoji (the input itself may hold a lone surrogate).
        if (!LONE_SURROGATE.test(text)) expect({ context, lone: LONE_SURROGATE.test(p) }).toEqual({ context, lone: false });
      }
    });

    it('only ever names valid, allowed instances and bounded reasons', () => {
      for (const { command } of results) {
        if (command.kind === 'now' || command.kind === 'list' || command.kind === 'restore') {
          expect(command.instance).toMatch(INSTANCE);
          if (ctx.allowedInstances.length > 0) expect(ctx.allowedInstances).toContain(command.instance);
        }
        if (command.kind === 'restore') {
          expect(command.reason.length).toBeLessThanOrEqual(500);
          if (command.backup.kind === 'id') expect(Number.isSafeInteger(command.backup.id) && command.backup.id >= 0).toBe(true);
          else expect(command.backup.name).toMatch(/^[A-Za-z0-9][A-Za-z0-9._-]*-\d{10,16}$/);
        }
      }
    });
  });
});
