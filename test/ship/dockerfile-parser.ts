/**
 * A small parser of Dockerfile instructions, enough to lint this project's Dockerfile in CI
 * where no Docker engine runs: comments, parser directives, line continuations, exec (JSON)
 * and shell forms, FROM … AS, COPY flags, ENV/ARG pairs and HEALTHCHECK options. Heredocs
 * and a changed escape character are reported as unsupported rather than misread.
 */

export interface Instruction {
  /** Upper-case keyword: FROM, RUN, COPY, … */
  keyword: string;
  /** Everything after the keyword, continuations joined with a space. */
  args: string;
  /** 1-based line where the instruction starts. */
  line: number;
}

export interface Stage {
  index: number;
  image: string;
  name: string | undefined;
  instructions: Instruction[];
}

export interface CopySpec {
  flags: Record<string, string>;
  sources: string[];
  dest: string;
}

export interface HealthcheckSpec {
  options: Record<string, string>;
  /** undefined for HEALTHCHECK NONE */
  command: { exec: string[] } | { shell: string } | undefined;
}

export class DockerfileSyntaxError extends Error {
  constructor(line: number, message: string) {
    super(`Dockerfile line ${line}: ${message}`);
    this.name = 'DockerfileSyntaxError';
  }
}

const KEYWORD = /^([A-Za-z]+)(?:\s+([\s\S]*))?$/;

export function parseDockerfile(text: string): Instruction[] {
  const lines = text.split(/\r?\n/);
  const out: Instruction[] = [];
  let directivesAllowed = true;
  let pending: { parts: string[]; line: number } | undefined;

  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i] ?? '';
    const trimmed = raw.trim();
    if (directivesAllowed) {
      const directive = /^#\s*([a-z]+)\s*=\s*(\S+)\s*$/i.exec(trimmed);
      if (directive) {
        if (directive[1]?.toLowerCase() === 'escape' && directive[2] !== '\\') {
          throw new DockerfileSyntaxError(i + 1, 'only the default escape character is supported');
        }
        continue;
      }
      directivesAllowed = false;
    }
    // Comment and empty lines are dropped, inside a continuation too (as Docker does).
    if (trimmed.startsWith('#') || trimmed === '') continue;
    const continues = /\\\s*$/.test(raw);
    const body = continues ? raw.replace(/\\\s*$/, '') : raw;
    if (pending === undefined) pending = { parts: [], line: i + 1 };
    pending.parts.push(body.trim());
    if (continues && i < lines.length - 1) continue;
    const joined = pending.parts.filter((p) => p.length > 0).join(' ');
    const m = KEYWORD.exec(joined);
    if (!m || m[1] === undefined) throw new DockerfileSyntaxError(pending.line, `not an instruction: ${joined.slice(0, 40)}`);
    const args = (m[2] ?? '').trim();
    if (/<<-?["']?[A-Za-z_]/.test(args) && !args.startsWith('[')) {
      throw new DockerfileSyntaxError(pending.line, 'heredocs are not supported by this parser');
    }
    out.push({ keyword: m[1].toUpperCase(), args, line: pending.line });
    pending = undefined;
  }
  return out;
}

/** Splits instructions into build stages; instructions before the first FROM (ARG) are dropped. */
export function stagesOf(instructions: readonly Instruction[]): Stage[] {
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.keyword === 'FROM') {
      const words = splitWords(ins.args).filter((w) => !w.startsWith('--'));
      const [image, as, name] = words;
      if (image === undefined) throw new DockerfileSyntaxError(ins.line, 'FROM without an image');
      if (as !== undefined && (as.toUpperCase() !== 'AS' || name === undefined)) throw new DockerfileSyntaxError(ins.line, 'expected FROM <image> AS <name>');
      stages.push({ index: stages.length, image, name: name?.toLowerCase(), instructions: [] });
    } else {
      stages.at(-1)?.instructions.push(ins);
    }
  }
  return stages;
}

/** The JSON array of an exec-form instruction, or undefined for the shell form. */
export function execForm(args: string): string[] | undefined {
  if (!args.trimStart().startsWith('[')) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(args);
  } catch {
    return undefined;
  }
  return Array.isArray(value) && value.every((v): v is string => typeof v === 'string') ? value : undefined;
}

/** Words split on whitespace, with single and double quotes grouping (quotes removed). */
export function splitWords(text: string): string[] {
  const words: string[] = [];
  let current = '';
  let quote: string | undefined;
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < text.length) current += text[++i];
      else current += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(current);
      current = '';
      inWord = false;
    } else if (c === '\\' && i + 1 < text.length) {
      current += text[++i];
      inWord = true;
    } else {
      current += c;
      inWord = true;
    }
  }
  if (quote) throw new Error(`unterminated quote in: ${text}`);
  if (inWord) words.push(current);
  return words;
}

/** `--name=value` flags at the start of the arguments, and what follows them. */
function leadingFlags(args: string): { flags: Record<string, string>; rest: string } {
  const flags: Record<string, string> = {};
  let rest = args.trim();
  for (;;) {
    const m = /^--([a-z-]+)(?:=(\S*))?(?:\s+|$)/.exec(rest);
    if (!m || m[1] === undefined) break;
    flags[m[1]] = m[2] ?? 'true';
    rest = rest.slice(m[0].length);
  }
  return { flags, rest };
}

export function parseCopy(ins: Instruction): CopySpec {
  const { flags, rest } = leadingFlags(ins.args);
  const paths = execForm(rest) ?? splitWords(rest);
  if (paths.length < 2) throw new DockerfileSyntaxError(ins.line, `${ins.keyword} needs a source and a destination`);
  return { flags, sources: paths.slice(0, -1), dest: paths.at(-1) as string };
}

/** ENV/ARG as name → value (undefined for an ARG without default); `ENV k v` legacy form too. */
export function parsePairs(ins: Instruction): Map<string, string | undefined> {
  const words = splitWords(ins.args);
  const pairs = new Map<string, string | undefined>();
  if (ins.keyword === 'ENV' && words.length >= 2 && !(words[0] ?? '').includes('=')) {
    pairs.set(words[0] as string, words.slice(1).join(' '));
    return pairs;
  }
  for (const w of words) {
    const eq = w.indexOf('=');
    if (eq < 0) pairs.set(w, undefined);
    else pairs.set(w.slice(0, eq), w.slice(eq + 1));
  }
  return pairs;
}

export function parseHealthcheck(ins: Instruction): HealthcheckSpec {
  const { flags, rest } = leadingFlags(ins.args);
  if (/^NONE$/i.test(rest.trim())) return { options: flags, command: undefined };
  const m = /^CMD\s+([\s\S]+)$/i.exec(rest.trim());
  if (!m || m[1] === undefined) throw new DockerfileSyntaxError(ins.line, 'HEALTHCHECK needs CMD or NONE');
  const exec = execForm(m[1]);
  return { options: flags, command: exec ? { exec } : { shell: m[1] } };
}

/** Minimal .dockerignore semantics: `*`, `?`, `**`, leading `!` exceptions, last match wins; a match on a folder covers what is inside. */
export function dockerignoreMatcher(text: string): (path: string) => boolean {
  const rules = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0 && !l.startsWith('#'))
    .map((l) => {
      const negate = l.startsWith('!');
      const pattern = (negate ? l.slice(1) : l).replace(/^\/+|\/+$/g, '').replace(/^\.\//, '');
      return { negate, regex: globToRegex(pattern) };
    });
  return (path: string) => {
    const clean = path.replace(/^\.\//, '').replace(/\/+$/, '');
    const prefixes = clean.split('/').map((_, i, parts) => parts.slice(0, i + 1).join('/'));
    let ignored = false;
    for (const rule of rules) {
      if (prefixes.some((p) => rule.regex.test(p))) ignored = !rule.negate;
    }
    return ignored;
  };
}

function globToRegex(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '*' && pattern[i + 1] === '*') {
      // `**/` matches any number of folders, none included.
      if (pattern[i + 2] === '/') {
        re += '(?:.*/)?';
        i += 2;
      } else {
        re += '.*';
        i += 1;
      }
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}
