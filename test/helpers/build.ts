import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..', '..');

/**
 * Compiles the bot for tests that run it as a real process (signals, SIGKILL). Each caller
 * names its own output folder inside the repo, so parallel test files never overwrite each
 * other's build and node still finds the repo's node_modules. Returns the path of main.js.
 */
export function buildForProcessTests(name: string): string {
  const outDir = join(ROOT, '.test-build', name);
  mkdirSync(outDir, { recursive: true });
  execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', outDir], {
    cwd: ROOT,
    stdio: 'pipe',
  });
  const main = join(outDir, 'main.js');
  if (!existsSync(main)) throw new Error(`build produced no ${main}`);
  return main;
}
