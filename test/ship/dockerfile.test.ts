/**
 * No Docker engine runs in CI, so the Dockerfile is linted here instead of built: its stages,
 * base images, user, health check, volume, entry point, secrets and every path it copies.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, posix } from 'node:path';
import {
  dockerignoreMatcher,
  execForm,
  parseCopy,
  parseDockerfile,
  parseHealthcheck,
  parsePairs,
  splitWords,
  stagesOf,
  type Instruction,
  type Stage,
} from './dockerfile-parser';

const ROOT = join(__dirname, '..', '..');
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');

const dockerfile = read('Dockerfile');
const instructions = parseDockerfile(dockerfile);
const stages = stagesOf(instructions);
const finalStage = stages.at(-1) as Stage;
const packageJson = JSON.parse(read('package.json')) as { main: string; scripts: Record<string, string> };

const of = (stage: Stage, keyword: string): Instruction[] => stage.instructions.filter((i) => i.keyword === keyword);
const last = (stage: Stage, keyword: string): Instruction | undefined => of(stage, keyword).at(-1);
const runs = (stage: Stage): string[] => of(stage, 'RUN').map((i) => i.args);
const workdirOf = (stage: Stage): string => last(stage, 'WORKDIR')?.args ?? '/';
const buildStage = stages.find((s) => runs(s).some((r) => /\bnpm run build\b/.test(r)));

/** The tsconfig `npm run build` compiles with, and where it writes. */
function buildOutput(): { tsconfig: string; outDir: string } {
  const m = /\btsc\s+(?:-p|--project)\s+(\S+)/.exec(packageJson.scripts.build ?? '');
  const tsconfig = m?.[1] ?? 'tsconfig.json';
  const own = JSON.parse(read(tsconfig)) as { extends?: string; compilerOptions?: { outDir?: string } };
  const base = own.extends ? (JSON.parse(read(own.extends)) as { compilerOptions?: { outDir?: string } }) : {};
  const outDir = (own.compilerOptions?.outDir ?? base.compilerOptions?.outDir ?? '.').replace(/^\.\//, '');
  return { tsconfig, outDir };
}

/** Paths (relative to the stage's WORKDIR) that exist in a stage: copied in, or made by its RUNs. */
function pathsIn(stage: Stage): Set<string> {
  const paths = new Set<string>();
  let workdir = '/';
  for (const ins of stage.instructions) {
    if (ins.keyword === 'WORKDIR') workdir = posix.resolve(workdir, ins.args);
    if (ins.keyword === 'COPY' || ins.keyword === 'ADD') {
      const copy = parseCopy(ins);
      const destDir = posix.resolve(workdir, copy.dest);
      const intoFolder = copy.dest.endsWith('/') || copy.dest === '.' || copy.sources.length > 1;
      for (const src of copy.sources) {
        const target = intoFolder ? posix.join(destDir, posix.basename(src)) : destDir;
        paths.add(posix.relative(workdir, target));
      }
    }
    if (ins.keyword === 'RUN') {
      if (/\bnpm ci\b/.test(ins.args)) paths.add('node_modules');
      if (/\bnpm run build\b/.test(ins.args)) paths.add(buildOutput().outDir);
    }
  }
  return paths;
}

describe('Dockerfile parser', () => {
  it('joins continuations, drops comments and keeps the first line number', () => {
    const parsed = parseDockerfile('# syntax=docker/dockerfile:1\n# a comment\nFROM node:22 AS build\nRUN a \\\n  # inside\n  && b\n\nCMD ["node", "x.js"]\n');
    expect(parsed).toEqual([
      { keyword: 'FROM', args: 'node:22 AS build', line: 3 },
      { keyword: 'RUN', args: 'a && b', line: 4 },
      { keyword: 'CMD', args: '["node", "x.js"]', line: 8 },
    ]);
    expect(execForm(parsed[2]?.args ?? '')).toEqual(['node', 'x.js']);
    expect(execForm('node x.js')).toBeUndefined();
  });

  it('reads COPY flags, ENV pairs with quotes and the legacy ENV form', () => {
    const [copy, env, legacy] = parseDockerfile('COPY --from=build --chown=node:node /a /b ./\nENV A=1 B="two words"\nENV C three words\n');
    expect(parseCopy(copy as Instruction)).toEqual({ flags: { from: 'build', chown: 'node:node' }, sources: ['/a', '/b'], dest: './' });
    expect([...parsePairs(env as Instruction)]).toEqual([
      ['A', '1'],
      ['B', 'two words'],
    ]);
    expect([...parsePairs(legacy as Instruction)]).toEqual([['C', 'three words']]);
    expect(splitWords(`a 'b c' "d\\"e"`)).toEqual(['a', 'b c', 'd"e']);
  });

  it('matches .dockerignore patterns, folders and exceptions', () => {
    const ignored = dockerignoreMatcher('node_modules\n*.sqlite\n**/*.test.ts\ndocs\n!docs/keep.md\n');
    expect(ignored('node_modules/x/index.js')).toBe(true);
    expect(ignored('state.sqlite')).toBe(true);
    expect(ignored('src/a/b.test.ts')).toBe(true);
    expect(ignored('docs/other.md')).toBe(true);
    expect(ignored('docs/keep.md')).toBe(false);
    expect(ignored('src/main.ts')).toBe(false);
  });

  it('refuses what it does not understand instead of misreading it', () => {
    expect(() => parseDockerfile('# escape=`\nFROM node:22\n')).toThrow(/escape/);
    expect(() => parseDockerfile('FROM node:22\nRUN <<EOF\necho hi\nEOF\n')).toThrow(/heredoc/);
  });
});

describe('Dockerfile', () => {
  it('is multi-stage: a build stage, then a runtime stage that takes its output', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(buildStage).toBeDefined();
    expect(buildStage).not.toBe(finalStage);
    const fromBuild = of(finalStage, 'COPY').filter((c) => parseCopy(c).flags.from === buildStage?.name);
    expect(fromBuild.length).toBeGreaterThan(0);
    // No compiler and no TypeScript build in the image that runs.
    expect(runs(finalStage).join('\n')).not.toMatch(/\b(g\+\+|gcc|python3|npm run build|npm ci)\b/);
  });

  it('builds on an LTS Node image (22 or 24) in every stage', () => {
    for (const stage of stages) expect(stage.image).toMatch(/^node:(22|24)(?:[.-][\w.-]*)?$/);
  });

  it('has what better-sqlite3 needs to compile in the build stage', () => {
    expect(runs(buildStage as Stage).join('\n')).toMatch(/apt-get install[^&]*\bpython3\b[^&]*\bmake\b[^&]*\bg\+\+/);
  });

  it('installs with npm ci from the lockfile, never npm install', () => {
    const all = stages.flatMap(runs).join('\n');
    expect(all).toMatch(/\bnpm ci\b/);
    expect(all).not.toMatch(/\bnpm (install|i|add)\b/);
    const copied = (buildStage as Stage).instructions.filter((i) => i.keyword === 'COPY').flatMap((c) => parseCopy(c).sources);
    expect(copied).toEqual(expect.arrayContaining(['package.json', 'package-lock.json']));
  });

  it('drops dev dependencies before the runtime stage copies node_modules', () => {
    expect(runs(buildStage as Stage).join('\n')).toMatch(/\bnpm prune --omit=dev\b|\bnpm ci\b[^&\n]*--omit=dev/);
  });

  it('runs as a non-root user in the final stage', () => {
    const user = last(finalStage, 'USER');
    expect(user).toBeDefined();
    expect(user?.args).not.toMatch(/^(root|0)(:|$)/);
    const cmd = last(finalStage, 'CMD') as Instruction;
    expect((user as Instruction).line).toBeLessThan(cmd.line);
  });

  it('keeps the state database on a volume owned by that user', () => {
    const volumes = of(finalStage, 'VOLUME').flatMap((v) => execForm(v.args) ?? splitWords(v.args));
    expect(volumes).toContain('/data');
    const env = new Map(of(finalStage, 'ENV').flatMap((e) => [...parsePairs(e)]));
    expect(env.get('NODE_ENV')).toBe('production');
    expect(env.get('STATE_DB')).toMatch(/^\/data\//);
    const user = last(finalStage, 'USER')?.args ?? '';
    expect(runs(finalStage).join('\n')).toContain(`chown ${user}:${user} /data`);
  });

  it('exposes the default PORT', () => {
    expect(of(finalStage, 'EXPOSE').flatMap((e) => splitWords(e.args))).toContain('3000');
  });

  it('has exec-form CMD and ENTRYPOINT: tini as init, then node dist/main.js', () => {
    const cmd = execForm(last(finalStage, 'CMD')?.args ?? '');
    expect(cmd).toEqual(['node', packageJson.main]);
    const entry = execForm(last(finalStage, 'ENTRYPOINT')?.args ?? '');
    expect(entry?.[0]).toBe('/usr/bin/tini');
    expect(entry?.at(-1)).toBe('--');
    expect(runs(finalStage).join('\n')).toMatch(/apt-get install[^&]*\btini\b/);
  });

  it('has no secrets in ENV or ARG and no token in the file', () => {
    for (const ins of instructions.filter((i) => i.keyword === 'ENV' || i.keyword === 'ARG')) {
      for (const [name, value] of parsePairs(ins)) {
        if (/TOKEN|SECRET|PASSWORD|PASSWD|API_KEY|CREDENTIAL/i.test(name)) expect({ name, value: value ?? '' }).toEqual({ name, value: '' });
      }
    }
    expect(dockerfile).not.toMatch(/xox[abpr]-|xapp-/);
  });

  describe('HEALTHCHECK', () => {
    const check = of(finalStage, 'HEALTHCHECK').at(-1);
    const spec = check ? parseHealthcheck(check) : undefined;
    const command = spec?.command && 'exec' in spec.command ? spec.command.exec : undefined;

    it('asks /healthz with node itself, in exec form (no curl in slim images)', () => {
      expect(command?.[0]).toBe('node');
      expect(command?.join(' ')).toContain('/healthz');
      expect(command?.join(' ')).not.toMatch(/\b(curl|wget)\b/);
    });

    /** Runs the check's node command against `port`, as Docker would inside the container. */
    function runCheck(port: number): Promise<number | null> {
      return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, (command ?? []).slice(1), { env: { ...process.env, PORT: String(port) }, stdio: 'ignore' });
        child.on('error', reject);
        child.on('exit', (code) => resolve(code));
      });
    }

    async function serve(status: number): Promise<{ server: Server; port: number; paths: string[] }> {
      const paths: string[] = [];
      const server = createServer((req, res) => {
        paths.push(req.url ?? '');
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end('{"status":"ok"}');
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      return { server, port: (server.address() as AddressInfo).port, paths };
    }

    it('passes on 200 from /healthz and fails on 503 or when nothing listens', async () => {
      const up = await serve(200);
      const down = await serve(503);
      try {
        await expect(runCheck(up.port)).resolves.toBe(0);
        expect(up.paths).toEqual(['/healthz']);
        await expect(runCheck(down.port)).resolves.toBe(1);
      } finally {
        await new Promise((r) => up.server.close(r));
        await new Promise((r) => down.server.close(r));
      }
      // The port just closed: connection refused.
      await expect(runCheck(up.port)).resolves.toBe(1);
    });
  });

  describe('copied paths', () => {
    const ignored = dockerignoreMatcher(read('.dockerignore'));
    const copies = stages.flatMap((stage) => of(stage, 'COPY').map((ins) => ({ stage, ins, copy: parseCopy(ins) })));

    it('every build-context path exists in the repository and is not excluded by .dockerignore', () => {
      const fromContext = copies.filter((c) => c.copy.flags.from === undefined).flatMap((c) => c.copy.sources);
      expect(fromContext.length).toBeGreaterThan(0);
      for (const src of fromContext) {
        expect({ src, wildcard: /[*?[]/.test(src) }).toEqual({ src, wildcard: false });
        expect({ src, exists: existsSync(join(ROOT, src)) }).toEqual({ src, exists: true });
        expect({ src, ignored: ignored(src) }).toEqual({ src, ignored: false });
      }
    });

    it('every path copied from a stage was copied into or built by that earlier stage', () => {
      for (const { stage, copy } of copies.filter((c) => c.copy.flags.from !== undefined)) {
        const source = stages.find((s) => s.name === copy.flags.from?.toLowerCase());
        expect({ from: copy.flags.from, earlier: source !== undefined && source.index < stage.index }).toEqual({ from: copy.flags.from, earlier: true });
        const made = pathsIn(source as Stage);
        for (const src of copy.sources) {
          const rel = posix.relative(workdirOf(source as Stage), src);
          const top = rel.split('/')[0] ?? rel;
          expect({ src, made: made.has(rel) || made.has(top) }).toEqual({ src, made: true });
        }
      }
    });

    it('the build stage has the tsconfig files the build script compiles with', () => {
      const { tsconfig } = buildOutput();
      const made = pathsIn(buildStage as Stage);
      expect(made.has(tsconfig)).toBe(true);
      const ext = (JSON.parse(read(tsconfig)) as { extends?: string }).extends;
      if (ext) expect(made.has(ext.replace(/^\.\//, ''))).toBe(true);
      expect(made.has('src')).toBe(true);
    });

    it('the runtime stage has production deps, dist/ and the sandbox page, not the sources', () => {
      const made = pathsIn(finalStage);
      for (const p of ['package.json', 'node_modules', buildOutput().outDir, 'src/sandbox/public']) expect({ p, present: made.has(p) }).toEqual({ p, present: true });
      // The sandbox finds its page by walking up from dist/ to package.json, then src/sandbox/public.
      expect(existsSync(join(ROOT, 'src', 'sandbox', 'public', 'index.html'))).toBe(true);
      expect(made.has('src')).toBe(false);
      expect(made.has('test')).toBe(false);
    });
  });

  it('.dockerignore keeps local state, builds and history out of the context', () => {
    const lines = read('.dockerignore')
      .split(/\r?\n/)
      .map((l) => l.trim());
    for (const entry of ['node_modules', 'dist', 'data', 'artifacts', '.git', 'coverage', '*.sqlite']) expect(lines).toContain(entry);
  });
});
