// Runs every bench/*.ts: compiles bench/ (with the src/ it imports) into .bench-build/, then
// runs each compiled bench in its own node process, one after another. Each bench prints one
// JSON object per result line on stdout, which is passed through untouched; progress and a
// summary table go to stderr. `npm run bench -- ack-latency` runs only the named benches.
// Exit code: 1 when a bench crashed, timed out or printed something that is not a result;
// missed targets are reported (pass: false) but fail the run only with BENCH_STRICT=1.
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import process from 'node:process';
import { clearTimeout, setTimeout } from 'node:timers';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(root, '.bench-build');
/** A bench that has not exited by then is killed (each also bounds itself, well below this). */
const PER_BENCH_LIMIT_MS = 180_000;
const TOTAL_LIMIT_MS = 300_000;

const log = (text) => process.stderr.write(`${text}\n`);

const wanted = process.argv.slice(2);
const benches = readdirSync(join(root, 'bench'))
  .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
  .map((f) => f.slice(0, -3))
  .filter((name) => wanted.length === 0 || wanted.includes(name))
  .sort();
if (benches.length === 0) {
  log(`no bench matches ${wanted.join(', ')}`);
  process.exit(1);
}

rmSync(outDir, { recursive: true, force: true });
const tsc = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'bench', 'tsconfig.json')], {
  cwd: root,
  stdio: ['ignore', 'inherit', 'inherit'],
});
if (tsc.status !== 0) {
  log('bench: compiling bench/ failed');
  process.exit(1);
}

/** Runs one compiled bench; resolves with its result lines and whether it ended cleanly. */
function runOne(name, limitMs) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, [join(outDir, 'bench', `${name}.js`)], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    const results = [];
    let clean = true;
    let buffered = '';
    const onLine = (line) => {
      if (line.trim() === '') return;
      process.stdout.write(`${line}\n`);
      try {
        results.push(JSON.parse(line));
      } catch {
        log(`bench ${name}: not a JSON result line: ${line.slice(0, 200)}`);
        clean = false;
      }
    };
    child.stdout.on('data', (chunk) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) onLine(line);
    });
    const killer = setTimeout(() => {
      log(`bench ${name}: still running after ${Math.round(limitMs / 1000)} s; killing pid ${child.pid}`);
      clean = false;
      child.kill('SIGKILL');
    }, limitMs);
    child.on('close', (code, signal) => {
      clearTimeout(killer);
      onLine(buffered);
      if (code !== 0) {
        log(`bench ${name}: exited with ${signal ?? code}`);
        clean = false;
      }
      resolve({ name, results, clean, seconds: (Date.now() - started) / 1000 });
    });
  });
}

const runStarted = Date.now();
const runs = [];
for (const name of benches) {
  const left = TOTAL_LIMIT_MS - (Date.now() - runStarted);
  if (left <= 0) {
    log(`bench: ${TOTAL_LIMIT_MS / 1000} s budget used up; ${name} not run`);
    runs.push({ name, results: [], clean: false, seconds: 0 });
    continue;
  }
  log(`bench: ${name}`);
  runs.push(await runOne(name, Math.min(PER_BENCH_LIMIT_MS, left)));
  await delay(200); // let the ports of one bench close before the next starts
}

const cell = (v) => (v === undefined ? '' : String(v));
const rows = runs.flatMap((r) =>
  r.results.map((x) => [x.name, `${cell(x.value)} ${cell(x.unit)}`, cell(x.baseline), cell(x.ratio), cell(x.target), x.pass ? 'pass' : 'FAIL']),
);
const header = ['result', 'value', 'baseline', 'ratio', 'target', ''];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
const fmt = (row) => row.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
log('');
log(fmt(header));
for (const row of rows) log(fmt(row));
const crashed = runs.filter((r) => !r.clean).map((r) => r.name);
const missed = runs.flatMap((r) => r.results.filter((x) => x.pass !== true).map((x) => x.name));
log(
  `\n${runs.length} benches in ${((Date.now() - runStarted) / 1000).toFixed(1)} s (${runs.map((r) => `${r.name} ${r.seconds.toFixed(1)} s`).join(', ')}); ` +
    `${missed.length === 0 ? 'every target met' : `targets missed: ${missed.join(', ')}`}${crashed.length ? `; crashed or timed out: ${crashed.join(', ')}` : ''}`,
);
process.exitCode = crashed.length > 0 || (process.env.BENCH_STRICT === '1' && missed.length > 0) ? 1 : 0;
