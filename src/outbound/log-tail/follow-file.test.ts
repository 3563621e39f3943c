import { appendFileSync, mkdtempSync, renameSync, rmSync, truncateSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { activeResources, deferred, LineCollector } from './__tests__/collector';
import { followFile, type FollowFileOptions } from './follow-file';
import type { Follower } from './follower';

jest.setTimeout(10_000);

let dir: string;
let file: string;
let follower: Follower | undefined;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'log-tail-'));
  file = join(dir, 'production.log');
});

afterEach(async () => {
  await follower?.stop();
  follower = undefined;
  rmSync(dir, { recursive: true, force: true });
});

/** Starts following and resolves once the first look at the file is done. */
async function start(
  path: string,
  collector: LineCollector,
  options: Partial<FollowFileOptions> = {},
): Promise<void> {
  const ready = deferred();
  follower = followFile(path, { pollMs: 50, ...options, onLines: collector.onLines, onReady: ready.resolve });
  await ready.promise;
}

describe.each([
  ['fs.watch and poll', true],
  ['poll only', false],
])('followFile (%s)', (_name, watch) => {
  it('starts at the end and emits appended lines', async () => {
    writeFileSync(file, 'old-1\nold-2\n');
    const c = new LineCollector();
    await start(file, c, { watch });
    appendFileSync(file, 'new-1\nnew-2\n');
    await c.untilIncludes('new-1', 'new-2');
    expect(c.lines).toEqual(['new-1', 'new-2']);
  });

  it('emits the last N existing lines first when asked', async () => {
    writeFileSync(file, 'old-1\nold-2\nold-3\n');
    const c = new LineCollector();
    await start(file, c, { watch, initialLines: 2 });
    appendFileSync(file, 'new-1\n');
    await c.untilIncludes('new-1');
    expect(c.lines).toEqual(['old-2', 'old-3', 'new-1']);
  });

  it('holds a partial line back until it is completed', async () => {
    writeFileSync(file, '');
    const c = new LineCollector();
    await start(file, c, { watch });
    appendFileSync(file, 'whole\npart');
    await c.untilIncludes('whole');
    // "part" arrived in the same read as "whole": had it been emitted, it would be here already.
    expect(c.lines).toEqual(['whole']);
    appendFileSync(file, 'ial\r\nnext\n');
    await c.untilIncludes('partial', 'next');
    expect(c.lines).toEqual(['whole', 'partial', 'next']);
  });

  it('completes a line left unfinished before following started', async () => {
    writeFileSync(file, 'done\nhalf-');
    const c = new LineCollector();
    await start(file, c, { watch });
    appendFileSync(file, 'written\n');
    await c.untilIncludes('half-written');
    expect(c.lines).toEqual(['half-written']);
  });

  it('rereads from the start after truncation', async () => {
    writeFileSync(file, 'a-long-line-before-truncation\n');
    const c = new LineCollector();
    await start(file, c, { watch });
    appendFileSync(file, 'before\n');
    await c.untilIncludes('before');
    truncateSync(file, 0);
    appendFileSync(file, 'after\n');
    await c.untilIncludes('after');
    expect(c.lines).toEqual(['before', 'after']);
  });

  it('notices a truncation rewritten past the old position before the next check', async () => {
    writeFileSync(file, '');
    const c = new LineCollector();
    await start(file, c, { watch });
    appendFileSync(file, 'short\n');
    await c.untilIncludes('short');
    // Both in one tick, so the follower mostly sees only a bigger file.
    writeFileSync(file, 'rewritten-first-line\nrewritten-second-line\n');
    await c.untilIncludes('rewritten-first-line', 'rewritten-second-line');
    expect(c.lines).toEqual(['short', 'rewritten-first-line', 'rewritten-second-line']);
  });

  it('follows rotation by rename and recreate, keeping late lines of the old file', async () => {
    writeFileSync(file, '');
    const c = new LineCollector();
    await start(file, c, { watch });
    appendFileSync(file, 'old-1\n');
    await c.untilIncludes('old-1');
    renameSync(file, `${file}.1`);
    appendFileSync(`${file}.1`, 'old-late\n');
    writeFileSync(file, 'new-1\n');
    await c.untilIncludes('old-late', 'new-1');
    appendFileSync(file, 'new-2\n');
    await c.untilIncludes('new-2');
    expect(c.lines).toEqual(['old-1', 'old-late', 'new-1', 'new-2']);
  });

  it('waits for a file that does not exist yet and reads it whole', async () => {
    const c = new LineCollector();
    await start(file, c, { watch, initialLines: 5 });
    writeFileSync(file, 'first\nsecond\n');
    await c.untilIncludes('first', 'second');
    expect(c.lines).toEqual(['first', 'second']);
  });

  it('waits for a directory that does not exist yet', async () => {
    const nested = join(dir, 'backup-agent', 'production.log');
    const c = new LineCollector();
    await start(nested, c, { watch });
    mkdirSync(join(dir, 'backup-agent'));
    writeFileSync(nested, 'hello\n');
    await c.untilIncludes('hello');
    appendFileSync(nested, 'again\n');
    await c.untilIncludes('again');
    expect(c.lines).toEqual(['hello', 'again']);
  });
});

describe('followFile stop', () => {
  it('leaves no watcher, timer or file handle behind and emits nothing after stop', async () => {
    const types = ['FSEventWrap', 'FileHandle', 'Timeout', 'StatWatcher'];
    const before = activeResources(types);
    writeFileSync(file, '');
    const c = new LineCollector();
    await start(file, c);
    appendFileSync(file, 'one\n');
    await c.untilIncludes('one');
    expect(activeResources(['FSEventWrap'])['FSEventWrap']).toBeGreaterThan(before['FSEventWrap'] ?? 0);

    const f = follower;
    follower = undefined;
    await f?.stop();
    await f?.stop(); // idempotent
    expect(activeResources(types)).toEqual(before);

    appendFileSync(file, 'two\n');
    // A fresh follower seeing "two" proves the write landed; the stopped one must not have seen it.
    const witness = new LineCollector();
    await start(file, witness, { initialLines: 1 });
    await witness.untilIncludes('two');
    expect(c.lines).toEqual(['one']);
  });

  it('reports an onLines error and keeps following', async () => {
    writeFileSync(file, '');
    const errors: Error[] = [];
    const reported = deferred();
    const c = new LineCollector();
    let thrown = false;
    const ready = deferred();
    follower = followFile(file, {
      pollMs: 50,
      onReady: ready.resolve,
      onError: (e) => {
        errors.push(e);
        reported.resolve();
      },
      onLines: (lines) => {
        if (!thrown) {
          thrown = true;
          throw new Error('handler broke');
        }
        c.onLines(lines);
      },
    });
    await ready.promise;
    appendFileSync(file, 'lost\n');
    await reported.promise;
    appendFileSync(file, 'kept\n');
    await c.untilIncludes('kept');
    expect(errors.map((e) => e.message)).toEqual(['handler broke']);
  });
});
