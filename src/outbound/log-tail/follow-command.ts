import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import { LineSplitter } from './line-splitter';
import { errorCode, toError, type Follower } from './follower';

export interface CommandExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface FollowCommandOptions {
  onLines(lines: string[]): void;
  onError?(e: Error): void;
  /** Once, after the last line; also when the command ends because of stop(). */
  onExit?(exit: CommandExit): void;
  /** Time between SIGTERM and SIGKILL on stop(). */
  graceMs?: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export interface CommandFollower extends Follower {
  /** Process id of the shell, which is also the id of its process group; undefined if spawning failed. */
  readonly pid: number | undefined;
}

const DEFAULT_GRACE_MS = 3000;
/** After SIGKILL nothing can refuse, but an unreaped zombie (no init reaping orphans) never leaves the group: don't wait on it forever. */
const KILL_WAIT_MS = 1000;
/** A leftover grandchild can hold the pipes open after the shell exited; the command still counts as ended. */
const CLOSE_WAIT_MS = 1000;
const GROUP_POLL_MS = 20;
const RESEND_MS = 250;

/** Process groups still (possibly) alive, killed if this process exits without stopping them. */
const liveGroups = new Set<number>();
let exitHookInstalled = false;

/**
 * Kills every process group started here that is not known to be gone. Runs on process
 * 'exit', where nothing asynchronous can follow, so there is no grace period: SIGKILL.
 * A graceful shutdown calls stop() on each follower first.
 */
export function killRemainingCommands(): void {
  for (const pid of liveGroups) signalGroup(pid, 'SIGKILL');
  liveGroups.clear();
}

/**
 * Runs a shell command (e.g. `bosh ssh … -c 'sudo tail -F …'`) in its own process group and
 * emits its stdout and stderr lines.
 */
export function followCommand(command: string, options: FollowCommandOptions): CommandFollower {
  const follower = new CommandRunner(command, options);
  return { pid: follower.pid, stop: () => follower.stop() };
}

/**
 * A non-interactive shell killed by SIGTERM dies at once and orphans its children; where no
 * init reaps orphans (containers) they stay zombies in the group forever. With a TERM trap
 * the shell first waits for its foreground command (which got the same SIGTERM), reaps it,
 * then re-raises so the exit is still reported as SIGTERM. A trap, unlike an ignored signal,
 * is not inherited by the command.
 */
function wrap(command: string): string {
  return `trap 'trap - TERM; kill -TERM $$' TERM\n${command}`;
}

class CommandRunner {
  private readonly child: ChildProcess;
  private readonly out = new LineSplitter();
  private readonly err = new LineSplitter();
  private exitInfo: CommandExit | undefined;
  private finished = false;
  private groupGone = false;
  private stopping: Promise<void> | undefined;
  private exitTimer: NodeJS.Timeout | undefined;
  private readonly closed: Promise<void>;
  private resolveClosed!: () => void;

  constructor(
    command: string,
    private readonly options: FollowCommandOptions,
  ) {
    this.closed = new Promise((resolve) => {
      this.resolveClosed = resolve;
    });
    this.child = spawn(wrap(command), {
      shell: true,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: options.env ?? process.env,
      cwd: options.cwd,
    });
    if (this.child.pid !== undefined) register(this.child.pid);
    this.pipe(this.child.stdout, this.out);
    this.pipe(this.child.stderr, this.err);
    this.child.on('exit', (code, signal) => {
      this.exitInfo = { code, signal };
      this.exitTimer = setTimeout(() => this.finish(), CLOSE_WAIT_MS);
    });
    this.child.on('close', () => this.finish());
    this.child.on('error', (e) => {
      this.report(e);
      if (this.child.pid === undefined) this.finish();
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  stop(): Promise<void> {
    this.stopping ??= this.terminate();
    return this.stopping;
  }

  private async terminate(): Promise<void> {
    const pid = this.child.pid;
    if (pid !== undefined && this.signal('SIGTERM')) {
      const gone = await this.waitGroupGone(this.options.graceMs ?? DEFAULT_GRACE_MS, 'SIGTERM');
      if (!gone && this.signal('SIGKILL')) await this.waitGroupGone(KILL_WAIT_MS);
    }
    await boundedWait(this.closed, CLOSE_WAIT_MS);
    this.finish();
    if (pid !== undefined && (this.groupGone || !groupAlive(pid))) liveGroups.delete(pid);
  }

  private pipe(stream: Readable | null, splitter: LineSplitter): void {
    stream?.on('data', (chunk: Buffer) => this.emit(splitter.push(chunk)));
    stream?.on('error', (e) => this.report(e));
  }

  /** Ends the follower once: last partial lines, then onExit. */
  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.exitTimer);
    // Destroying (rather than waiting for) the pipes lets a leftover grandchild fail on its next write.
    this.child.stdout?.destroy();
    this.child.stderr?.destroy();
    this.emit([...this.out.flush(), ...this.err.flush()]);
    const pid = this.child.pid;
    if (pid !== undefined && !groupAlive(pid)) {
      this.groupGone = true;
      liveGroups.delete(pid);
    }
    this.resolveClosed();
    try {
      this.options.onExit?.(this.exitInfo ?? { code: null, signal: null });
    } catch (e) {
      this.report(e);
    }
  }

  /** True when the signal was sent; false once the group is known to be gone (its id may be reused). */
  private signal(sig: NodeJS.Signals): boolean {
    const pid = this.child.pid;
    if (pid === undefined || this.groupGone) return false;
    try {
      process.kill(-pid, sig);
      return true;
    } catch (e) {
      if (errorCode(e) === 'ESRCH') this.groupGone = true;
      else this.report(e);
      return false;
    }
  }

  /**
   * Polls the group (no event exists for "every member exited"), bounded by `ms`.
   * `resend` repeats the signal now and then: a child the shell has forked but not yet exec'd
   * still runs the shell's TERM trap, and the exec then forgets the signal, so one SIGTERM
   * sent at that moment is lost.
   */
  private async waitGroupGone(ms: number, resend?: NodeJS.Signals): Promise<boolean> {
    const pid = this.child.pid;
    if (pid === undefined) return true;
    const start = Date.now();
    let lastSent = start;
    for (;;) {
      if (this.exitInfo && !groupAlive(pid)) {
        this.groupGone = true;
        return true;
      }
      const now = Date.now();
      const left = start + ms - now;
      if (left <= 0) return false;
      if (resend && now - lastSent >= RESEND_MS) {
        lastSent = now;
        if (!this.signal(resend)) return this.groupGone;
      }
      await sleep(Math.min(GROUP_POLL_MS, left));
    }
  }

  private emit(lines: string[]): void {
    // Once stopping, what comes is the dying shell's noise ("Terminated"), not the log.
    if (lines.length === 0 || this.stopping) return;
    try {
      this.options.onLines(lines);
    } catch (e) {
      this.report(e);
    }
  }

  private report(e: unknown): void {
    try {
      this.options.onError?.(toError(e));
    } catch {
      // A throwing error handler must not break cleanup.
    }
  }
}

function register(pid: number): void {
  liveGroups.add(pid);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', killRemainingCommands);
  }
}

/** Signal 0 probes without delivering; EPERM still means the group exists. */
function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch (e) {
    return errorCode(e) === 'EPERM';
  }
}

function signalGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    // Already gone.
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Waits for `p` at most `ms`, leaving no timer behind either way. */
async function boundedWait(p: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  try {
    await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
