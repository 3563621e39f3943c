import { ALICE, BOB, Harness, OPS, textOf, type Args } from '../e2e/harness';
import { until } from '../helpers/bot-process';
import { everythingSaid, expectHealthy, expectNothingLeaked, outboxSettled } from './util';
import { prng } from '../helpers/prng';

/**
 * 1,000 odd `/pgbackup` texts from a seeded generator, sent as signed slash commands to the
 * real bot: each is acknowledged within the request, a backup is started exactly for the
 * texts that say `now` (and nothing else), Slack markup from the input never comes back
 * live, and the bot is healthy at the end.
 */

const PG = 'pg-orders';
const INSTANCES = ['a9s-pg', PG];
const TOTAL = 1000;
const CONCURRENCY = 8;


/** Markup a Slack user could type that must never come back as a live mention or link. */
const INJECTIONS = [
  '<!channel>',
  '<!here>',
  '<!everyone>',
  '<!subteam^S0INJECT|ops-team>',
  '<@U1>',
  '<@U0EVIL|eve>',
  '<@W0INJECT>',
  '<#C0INJECT|secret>',
  '<https://evil.example/login|click here>',
  '<mailto:root@evil.example|mail>',
];
/** How any of them would look if the bot echoed it unescaped. */
const LIVE_MARKUP = /<!channel|<!here|<!everyone|<!subteam|<@U1[>|]|<@U0EVIL|<@W0INJECT|<#C0INJECT|<https:\/\/evil|<mailto:/;

const FRAGMENTS = [
  'now', 'NOW', 'Now', 'list', 'status', 'restore', 'help', 'a9s-pg', PG, 'no-such-db', '148', '149', '0', '-1', '1e3', '99999999999999999999',
  'a9s-pg-1542859215559', 'nöw', 'now!', '-now', 'now;rm -rf /', "'; DROP TABLE tracked_tasks; --", '$(reboot)', '`id`', '{{7*7}}',
  '${jndi:ldap://evil.example/a}', '../../etc/passwd', '%00', '%0a', '<script>alert(1)</script>', '&lt;!channel&gt;', '&amp;', '*bold*',
  '_it_', '~s~', '```code```', '>quote', '🔥', '👩‍👩‍👧‍👦', '🇩🇪', '\u202Eexe.txt', 'שלום', 'مرحبا', '\u200B', '\u200D', '\uFEFF', 'e\u0301',
  'ｎｏｗ', 'ﬁle', '\u0000', '\u0007', '\u001b[31m', '\uD800', '\\', '"', "'", 'null', 'undefined', 'NaN', '__proto__', 'constructor',
  ...INJECTIONS,
];
const SEPARATORS = [' ', ' ', ' ', '  ', '\t', '\n', '\r\n', '', '\u00A0', '\u3000', '\u200B'];

/** Texts that must parse, so the test fails if parsing breaks; `restore` ones get their backup id later. */
const VALID = [
  'now',
  'NOW',
  '  now  ',
  'now a9s-pg',
  `now\t${PG}`,
  'ｎｏｗ',
  'list',
  `list ${PG}`,
  'status a9s-pg',
  `STATUS\n${PG}`,
  'help',
  '',
  `restore {id} ${PG} bad migration <!channel> <@U1> <https://evil.example/login|click here>`,
  `restore {id} ${PG} <!here> ping <@U0EVIL|eve> <#C0INJECT|secret> <!subteam^S0INJECT|ops-team>`,
];

function corpus(seed: number, backupId: number): string[] {
  const rnd = prng(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rnd() * list.length)] as T;
  const texts: string[] = [];
  for (let round = 0; round < 3; round++) for (const v of VALID) texts.push(v.replace('{id}', String(backupId)));
  while (texts.length < TOTAL) {
    const kind = rnd();
    let text = '';
    if (kind < 0.05) {
      // 4,000 characters of fragments (Slack's limit for the text of a command).
      while (text.length < 4000) text += pick(FRAGMENTS) + pick(SEPARATORS);
      text = text.slice(0, 4000);
    } else if (kind < 0.1) {
      // One very long word, after a verb or not.
      const word = pick(['x', 'é', '🔥', 'a9s-pg', '<!channel>', '\u200B']).repeat(50 + Math.floor(rnd() * 800));
      text = rnd() < 0.5 ? `${pick(['now', 'list', 'restore', 'restore 148'])} ${word}` : word;
    } else if (kind < 0.2) {
      // A valid-looking start with injected markup after it.
      text = `${pick(['restore 148', `restore ${backupId} ${PG}`, `restore ${backupId}`, 'now', 'list'])} ${pick(INJECTIONS)} ${pick(FRAGMENTS)}`;
    } else {
      const n = Math.floor(rnd() * 10);
      for (let i = 0; i < n; i++) text += pick(FRAGMENTS) + pick(SEPARATORS);
    }
    texts.push(text);
  }
  // Spread the valid ones through the run instead of sending them all first.
  for (let i = texts.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [texts[i], texts[j]] = [texts[j] as string, texts[i] as string];
  }
  return texts;
}

/**
 * The grammar of behaviour.md, read independently of the bot's parser: does this text start a
 * backup? Words are split on whitespace after NFKC; `now` takes at most one instance, and only
 * an instance the manager knows gets as far as the POST.
 */
function startsBackup(text: string): boolean {
  const words = text
    .normalize('NFKC')
    .split(/\s+/u)
    .filter((w) => w.length > 0);
  if (words[0]?.toLowerCase() !== 'now') return false;
  if (words.length === 1) return true;
  return words.length === 2 && INSTANCES.includes(words[1] as string);
}

describe('fault: 1,000 odd command texts', () => {
  let h: Harness;

  afterEach(async () => {
    await h.close();
  });

  it('acks every one within the request, starts a backup exactly for the `now` ones, never echoes live markup, and stays healthy', async () => {
    h = await Harness.start({ simulator: { instances: [PG] } });
    const backupId = h.sim.seedBackup(PG, { status: 'done', size: 1024, createdAt: new Date(Date.now() - 3_600_000) });
    h.sim.seedBackup('a9s-pg', { status: 'done', createdAt: new Date(Date.now() - 7_200_000) });
    const texts = corpus(20240611, backupId);
    expect(texts).toHaveLength(TOTAL);
    const expectedPosts = texts.filter(startsBackup).length;
    expect(expectedPosts).toBeGreaterThanOrEqual(18);
    expect(texts.filter((t) => t.length === 4000).length).toBeGreaterThan(10);

    const results: Array<{ text: string; status: number; ms: number; ack: string }> = [];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < texts.length) {
        const text = texts[next++] as string;
        const started = Date.now();
        const { status, ack } = await h.command(text, next % 2 === 0 ? ALICE : BOB, OPS);
        results.push({ text, status, ms: Date.now() - started, ack: JSON.stringify(ack) });
      }
    };
    const began = Date.now();
    await Promise.all(Array.from({ length: CONCURRENCY }, () => worker()));

    // Every command answered 200 by the request itself, well within Slack's 3 seconds.
    expect(results).toHaveLength(TOTAL);
    expect(results.filter((r) => r.status !== 200).map((r) => JSON.stringify(r.text).slice(0, 80))).toEqual([]);
    expect(Math.max(...results.map((r) => r.ms))).toBeLessThan(3000);

    // The work after the ack is finished once every command has been counted.
    const counted = async (): Promise<number> => (await h.bot.deps.metrics.commands.get()).values.reduce((n, v) => n + v.value, 0);
    await until('every command to be handled', async () => ((await counted()) >= TOTAL ? true : undefined), 300);
    await outboxSettled(h);

    expect(h.managerRequests('POST', '/backup_agent/backup')).toHaveLength(expectedPosts);
    expect(h.managerRequests('POST', '/backup_agent/restores')).toHaveLength(0);
    expect(h.bot.deps.store.tasks.listActive()).toHaveLength(expectedPosts);
    expect(h.sim.requests.every((r) => r.authorized)).toBe(true);

    // The texts that must parse did: help, list and restore answered as themselves.
    const helpAcks = results.filter((r) => r.text === 'help' || r.text === '');
    expect(helpAcks.every((r) => /\/pgbackup now/.test(r.ack) && !/Unknown subcommand/.test(r.ack))).toBe(true);
    const lists = h.slack.responses.filter((r) => /Latest backups/.test(textOf(r.body as Args))).length;
    expect(lists).toBeGreaterThanOrEqual(3 * 4);
    const cards = h.callsOf('chat.postMessage', (a) => a.thread_ts === undefined && /Restore of .* requested/.test(a.text ?? ''));
    expect(cards.length).toBeGreaterThanOrEqual(3 * 2);
    expect(h.bot.deps.store.restores.inState('pending').length).toBe(cards.length);
    // The reason is shown, defused.
    expect(cards.some((c) => textOf(c.args as Args).includes('&lt;!channel&gt;'))).toBe(true);

    // Nothing the bot said anywhere — acks, messages, ephemerals — carries live markup from the input.
    const said = [...results.map((r) => r.ack), ...everythingSaid(h)];
    const live = said.filter((s) => LIVE_MARKUP.test(s));
    expect(live.map((s) => s.slice(0, 300))).toEqual([]);
    expectNothingLeaked(h);

    await expectHealthy(h.bot.url);
    expect(Date.now() - began).toBeLessThan(30_000);
  }, 60_000);
});
