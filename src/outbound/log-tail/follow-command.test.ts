import { activeResources, deferred, LineCollector } from './__tests__/collector';
import { followCommand, killRemainingCommands, type CommandExit, type CommandFollower } from './follow-command';
import { errorCode } from './follower';

jest.setTimeout(15_000);

let follower: CommandFollower | undefined;

afterEach(async () => {
  await follower?.stop();
  follower = undefined;
});

function groupState(pid: number | undefined): 'alive' | 'ESRCH' | string {
  if (pid === undefined) throw new Error('no pid');
  try {
    process.kill(-pid, 0);
    return 'alive';
  } catch (e) {
    return errorCode(e) ?? 'unknown';
  }
}

function run(command: string, graceMs?: number) {
  const c = new LineCollector();
  const exited = deferred<CommandExit>();
  const errors: Error[] = [];
  follower = followCommand(command, { onLines: c.onLines, onExit: exited.resolve, onError: (e) => errors.push(e), graceMs });
  return { c, exited: exited.promise, errors, f: follower };
}

describe('followCommand', () => {
  it.each([
    ["printf 'a\\nb\\n'; sleep 30"],
    // A pipeline: grandchildren must be reaped too, not left as zombies in the group.
    ["printf 'a\\nb\\n'; sleep 30 | cat"],
  ])('emits lines, and stop() ends the whole process group: %s', async (command) => {
    const types = ['ProcessWrap', 'PipeWrap', 'Timeout'];
    const before = activeResources(types);
    const { c, exited, f } = run(command);
    await c.untilIncludes('a', 'b');
    expect(groupState(f.pid)).toBe('alive');

    await f.stop();
    expect(await exited).toEqual({ code: null, signal: 'SIGTERM' });
    expect(groupState(f.pid)).toBe('ESRCH');
    expect(c.lines).toEqual(['a', 'b']);
    const after = activeResources(types);
    for (const t of types) expect(after[t]).toBeLessThanOrEqual(before[t] ?? 0);
  });

  it('emits stderr lines and a last line without newline, then reports the exit code', async () => {
    const { c, exited } = run("echo out; echo err >&2; printf 'tail'; exit 3");
    expect(await exited).toEqual({ code: 3, signal: null });
    expect([...c.lines].sort()).toEqual(['err', 'out', 'tail']);
  });

  it('escalates to SIGKILL when SIGTERM is ignored', async () => {
    // exec: the stubborn process is the only one in the group, so it is reaped by us.
    const { c, exited, f } = run("trap '' TERM; echo ready; exec sleep 30", 200);
    await c.untilIncludes('ready');
    await f.stop();
    expect(await exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(groupState(f.pid)).toBe('ESRCH');
  });

  it('stop() is idempotent and fine after the command ended by itself', async () => {
    const { exited, f } = run('true');
    await exited;
    await Promise.all([f.stop(), f.stop()]);
    await f.stop();
    expect(groupState(f.pid)).toBe('ESRCH');
  });

  it('kills remaining process groups from the exit hook', async () => {
    const { c, exited, f } = run('echo up; exec sleep 30');
    await c.untilIncludes('up');
    expect(process.listeners('exit')).toContain(killRemainingCommands);
    killRemainingCommands();
    expect(await exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(groupState(f.pid)).toBe('ESRCH');
  });

  it('reports a spawn failure as an error and an exit', async () => {
    const c = new LineCollector();
    const exited = deferred<CommandExit>();
    const failed = deferred<Error>();
    follower = followCommand('echo never', {
      cwd: '/nonexistent/log-tail-test-dir',
      onLines: c.onLines,
      onExit: exited.resolve,
      onError: failed.resolve,
    });
    expect(errorCode(await failed.promise)).toBe('ENOENT');
    expect(await exited.promise).toEqual({ code: null, signal: null });
    await follower.stop();
    expect(c.lines).toEqual([]);
  });
});
