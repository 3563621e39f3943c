/**
 * The README is the operator's manual: it must start with the two commands CI runs, and
 * list every variable (with its default), metric and npm script the code has, so an
 * addition without documentation fails here.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { EVENTS_PATH } from '../../src/inbound/slack/app';
import { configVariables, metricNames, read, ROOT, simulatorVariables } from './project';

const readme = read('README.md');

/** Rows of every Markdown table: cells split on unescaped pipes, trimmed. */
const rows = readme
  .split('\n')
  .filter((l) => l.startsWith('|') && !/^\|[-\s|]+\|$/.test(l))
  .map((l) =>
    l
      .slice(1, -1)
      .split(/(?<!\\)\|/)
      .map((c) => c.trim()),
  );
const rowFor = (name: string) => rows.find((r) => (r[0] ?? '').split(/\s*\/\s*/).includes(`\`${name}\``));

describe('README.md', () => {
  it('starts with the two commands for a fresh machine, exactly', () => {
    expect(
      readme.startsWith(
        [
          '# pgbackup-bot',
          '',
          '```sh',
          'npm ci && npm start     # install and run; with no Slack/Backup Manager settings it starts the local sandbox at http://localhost:3000/',
          'npm test                # lint, typecheck and every test (unit, end-to-end, browser)',
          '```',
          '',
        ].join('\n'),
      ),
    ).toBe(true);
  });

  it('documents every configuration variable with its default', () => {
    for (const v of configVariables()) {
      const row = rowFor(v.name);
      expect({ variable: v.name, documented: row !== undefined }).toEqual({ variable: v.name, documented: true });
      if (v.literalDefault !== undefined) expect({ variable: v.name, default: row?.[1] }).toEqual({ variable: v.name, default: `\`${v.literalDefault}\`` });
    }
  });

  it('documents every simulator variable with its default', () => {
    for (const v of simulatorVariables()) {
      const row = rowFor(v.name);
      expect({ variable: v.name, documented: row !== undefined }).toEqual({ variable: v.name, documented: true });
      if (v.literalDefault !== undefined) expect({ variable: v.name, default: row?.[1] }).toEqual({ variable: v.name, default: `\`${v.literalDefault}\`` });
    }
  });

  it('names every metric', () => {
    const names = metricNames();
    expect(names.length).toBeGreaterThan(0);
    for (const name of names) expect(readme).toContain(`\`${name}\``);
  });

  it('names every npm script', () => {
    const { scripts } = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
    for (const name of Object.keys(scripts)) expect(readme).toMatch(new RegExp(`npm (run )?${name}\\b`));
  });

  it('has a Benchmarks section', () => {
    expect(readme).toMatch(/^## Benchmarks$/m);
  });

  it('links only to files that exist', () => {
    for (const m of readme.matchAll(/\]\(([^)#]+)(?:#[^)]*)?\)/g)) {
      const target = m[1] as string;
      if (/^[a-z]+:/.test(target)) continue;
      expect({ target, exists: existsSync(join(ROOT, target)) }).toEqual({ target, exists: true });
    }
  });

  it("shows an HTTP-mode manifest change that points at the bot's events path", () => {
    const snippet = /```yaml\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
    const http = parse(snippet) as {
      features: { slash_commands: { url: string }[] };
      settings: { interactivity: { request_url: string }; socket_mode_enabled: boolean };
    };
    expect(http.settings.socket_mode_enabled).toBe(false);
    expect(http.features.slash_commands[0]?.url).toBe(`https://<host>${EVENTS_PATH}`);
    expect(http.settings.interactivity.request_url).toBe(`https://<host>${EVENTS_PATH}`);
  });
});
