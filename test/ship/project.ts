/** What test/ship reads from the repository: files, and facts the shipped documents must agree with. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT = join(__dirname, '..', '..');

export function read(file: string): string {
  return readFileSync(join(ROOT, file), 'utf8');
}

export interface EnvVariable {
  name: string;
  /** The default when it is a literal in the schema (a number or a string), else undefined. */
  literalDefault: string | undefined;
}

/** Top-level keys of `const EnvSchema = z.object({ … })` in a source file, with their literal defaults. */
export function envSchemaVariables(file: string): EnvVariable[] {
  const text = read(file);
  const start = text.indexOf('const EnvSchema = z.object({');
  if (start < 0) throw new Error(`${file}: no EnvSchema`);
  const end = text.indexOf('\n});', start);
  const body = text.slice(start, end);
  const lines = body.split('\n');
  const vars: EnvVariable[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = /^ {2}([A-Z][A-Z0-9_]*):(.*)$/.exec(lines[i] ?? '');
    if (!m || m[1] === undefined) continue;
    // A variable's definition runs until the next top-level key.
    let def = m[2] ?? '';
    for (let j = i + 1; j < lines.length && !/^ {2}[A-Z][A-Z0-9_]*:/.test(lines[j] ?? ''); j++) def += `\n${lines[j]}`;
    const numeric = /^\s*(?:positiveInt|wholeNumber)\(([\d_]+)/.exec(def);
    const returned = /\breturn (\d[\d_]*);/.exec(def);
    const text = /\?\? '([^']+)'/.exec(def);
    const literalDefault = (numeric?.[1] ?? returned?.[1])?.replace(/_/g, '') ?? text?.[1];
    vars.push({ name: m[1], literalDefault });
  }
  return vars;
}

export const configVariables = (): EnvVariable[] => envSchemaVariables('src/config.ts');
export const simulatorVariables = (): EnvVariable[] => envSchemaVariables('src/simulator/main.ts');

/** Prometheus metric names registered in src/outbound/metrics.ts. */
export function metricNames(): string[] {
  return [...read('src/outbound/metrics.ts').matchAll(/name: '(pgbackup_[a-z_]+)'/g)].map((m) => m[1] as string);
}

/** Non-test TypeScript files under a folder (relative to the repository root). */
export function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== '__tests__') out.push(...sourceFiles(path));
    } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

/**
 * Slack Web API methods the production code calls (`chat.postMessage(`, `auth.test(`, …);
 * the sandbox's fake Slack, the simulator and tests are not the bot.
 */
export function slackMethodsCalled(): Map<string, string[]> {
  const families = 'admin|apps|auth|bookmarks|bots|calls|chat|conversations|dnd|emoji|files|pins|reactions|reminders|search|stars|team|usergroups|users|views';
  // usergroups.users.list is one method (scope usergroups:read), not users.list.
  const call = new RegExp(`\\b(${families})\\.((?:users\\.)?[a-zA-Z]+)\\s*\\(`, 'g');
  const methods = new Map<string, string[]>();
  for (const file of sourceFiles('src')) {
    if (/^src[\\/](sandbox|simulator)[\\/]/.test(file)) continue;
    for (const m of read(file).matchAll(call)) {
      const method = `${m[1]}.${m[2]}`;
      methods.set(method, [...(methods.get(method) ?? []), file]);
    }
  }
  return methods;
}
