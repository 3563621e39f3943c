import { watch, type FSWatcher } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { LineSplitter } from './line-splitter';
import { errorCode, toError, type Follower } from './follower';

export interface FollowFileOptions {
  onLines(lines: string[]): void;
  onError?(e: Error): void;
  /** Poll period; the poll is the safety net for filesystems where fs.watch misses events. */
  pollMs?: number;
  /** How many already-written lines to emit first (the rest of the file is skipped). */
  initialLines?: number;
  /** Called once the first look at the file is done: lines written after this are not missed. */
  onReady?(): void;
  /** Off only to exercise the poll path in tests. */
  watch?: boolean;
}

const DEFAULT_POLL_MS = 1000;
const CHUNK_BYTES = 64 * 1024;
/** How far back the initial lines are looked for; longer lines than this are not worth showing. */
const INITIAL_SCAN_BYTES = 256 * 1024;
/**
 * Bytes just before the read position, re-checked on each read: a file truncated and
 * rewritten past our position between two checks is otherwise indistinguishable from growth.
 */
const FINGERPRINT_BYTES = 64;

interface OpenFile {
  fh: FileHandle;
  dev: number;
  ino: number;
  position: number;
  fingerprint: Buffer;
}

/** Follows a file like `tail -F`: survives it being absent, truncated, or replaced by rotation. */
export function followFile(path: string, options: FollowFileOptions): Follower {
  const follower = new FileFollower(path, options);
  follower.start();
  return { stop: () => follower.stop() };
}

class FileFollower {
  private readonly splitter = new LineSplitter();
  private current: OpenFile | undefined;
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  /** Only a file present when following starts is joined at its end; one that appears later is new, so read whole. */
  private startAtEnd = true;
  private lastError: string | undefined;

  constructor(
    private readonly path: string,
    private readonly options: FollowFileOptions,
  ) {}

  start(): void {
    const pollMs = Math.max(10, this.options.pollMs ?? DEFAULT_POLL_MS);
    this.timer = setInterval(() => {
      this.ensureWatcher();
      this.trigger();
    }, pollMs);
    this.ensureWatcher();
    this.trigger();
    void this.running?.then(() => {
      if (this.stopped) return;
      try {
        this.options.onReady?.();
      } catch (e) {
        this.report(e);
      }
    });
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    this.watcher?.close();
    this.watcher = undefined;
    await this.running;
    await this.closeCurrent();
  }

  private ensureWatcher(): void {
    if (this.options.watch === false || this.watcher || this.stopped) return;
    try {
      // The directory, not the file: a watch on the file follows its inode and goes deaf on rotation.
      const w = watch(dirname(this.path), () => this.trigger());
      w.on('error', () => {
        w.close();
        if (this.watcher === w) this.watcher = undefined;
      });
      this.watcher = w;
    } catch {
      // Directory missing or watching unsupported: the poll covers it and retries the watch.
    }
  }

  /** Coalesces bursts of events into one check at a time, plus one more if events came in meanwhile. */
  private trigger(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.runChecks().finally(() => {
      this.running = undefined;
    });
  }

  private async runChecks(): Promise<void> {
    do {
      this.again = false;
      try {
        await this.check();
        this.lastError = undefined;
      } catch (e) {
        this.report(e);
      }
    } while (this.again && !this.stopped);
  }

  private async check(): Promise<void> {
    const st = await statOrUndefined(this.path);
    if (this.stopped) return;
    const cur = this.current;
    if (!st) {
      // Rotated away and not recreated yet: the writer may still finish its last lines in the old file.
      if (cur) await this.readNew(cur);
      this.startAtEnd = false;
      return;
    }
    if (cur && cur.dev === st.dev && cur.ino === st.ino) {
      await this.readNew(cur);
      return;
    }
    if (cur) {
      await this.readNew(cur);
      this.emit(this.splitter.flush());
      await this.closeCurrent();
    }
    await this.openPath();
  }

  private async openPath(): Promise<void> {
    let fh: FileHandle;
    try {
      fh = await open(this.path, 'r');
    } catch (e) {
      if (errorCode(e) === 'ENOENT') return; // gone again between stat and open: next check
      throw e;
    }
    if (this.stopped) {
      await fh.close();
      return;
    }
    // fstat, not the earlier stat: the path may have been replaced in between.
    const st = await fh.stat();
    const file: OpenFile = { fh, dev: st.dev, ino: st.ino, position: 0, fingerprint: Buffer.alloc(0) };
    this.current = file;
    this.splitter.reset();
    if (this.startAtEnd) {
      this.startAtEnd = false;
      await this.joinAtEnd(file, st.size);
    }
    await this.readNew(file);
  }

  /** Skips existing content except the last `initialLines` lines, keeping an unfinished last line pending. */
  private async joinAtEnd(file: OpenFile, size: number): Promise<void> {
    const wanted = Math.max(0, Math.floor(this.options.initialLines ?? 0));
    const scanStart = Math.max(0, size - (wanted > 0 ? INITIAL_SCAN_BYTES : FINGERPRINT_BYTES * 4));
    file.position = scanStart;
    const lines = await this.readTo(file, size, false);
    // The first line of a window that does not start at 0 is most likely cut.
    if (scanStart > 0) lines.shift();
    if (wanted > 0) this.emit(lines.slice(-wanted));
  }

  private async readNew(file: OpenFile): Promise<void> {
    const { size } = await file.fh.stat();
    // Same size: nothing to read, and a poll tick should cost no more than a stat.
    if (size === file.position) return;
    if (size < file.position || !(await this.unchangedBeforePosition(file))) {
      // Truncated (copytruncate) or rewritten in place: what we held back belongs to the old content.
      this.emit(this.splitter.flush());
      file.position = 0;
      file.fingerprint = Buffer.alloc(0);
    }
    await this.readTo(file, size, true);
  }

  private async unchangedBeforePosition(file: OpenFile): Promise<boolean> {
    const fp = file.fingerprint;
    if (fp.length === 0) return true;
    const buf = Buffer.alloc(fp.length);
    const { bytesRead } = await file.fh.read(buf, 0, fp.length, file.position - fp.length);
    return bytesRead === fp.length && buf.equals(fp);
  }

  /** Reads up to `size` (bounded: a growing file is picked up by the next check). */
  private async readTo(file: OpenFile, size: number, emit: boolean): Promise<string[]> {
    const collected: string[] = [];
    while (file.position < size && !this.stopped) {
      const want = Math.min(CHUNK_BYTES, size - file.position);
      const buf = Buffer.alloc(want);
      const { bytesRead } = await file.fh.read(buf, 0, want, file.position);
      if (bytesRead === 0) break;
      const data = buf.subarray(0, bytesRead);
      file.position += bytesRead;
      file.fingerprint = lastBytes(file.fingerprint, data);
      const lines = this.splitter.push(data);
      if (emit) this.emit(lines);
      else collected.push(...lines);
    }
    return collected;
  }

  private emit(lines: string[]): void {
    if (lines.length === 0 || this.stopped) return;
    try {
      this.options.onLines(lines);
    } catch (e) {
      this.report(e);
    }
  }

  /** Repeats of the same failure (say EACCES on every poll) are reported once. */
  private report(e: unknown): void {
    const err = toError(e);
    if (err.message === this.lastError) return;
    this.lastError = err.message;
    try {
      this.options.onError?.(err);
    } catch {
      // A throwing error handler must not stop the follower.
    }
  }

  private async closeCurrent(): Promise<void> {
    const cur = this.current;
    this.current = undefined;
    await cur?.fh.close().catch(() => undefined);
  }
}

async function statOrUndefined(path: string): Promise<{ dev: number; ino: number } | undefined> {
  try {
    return await stat(path);
  } catch (e) {
    const code = errorCode(e);
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw e;
  }
}

function lastBytes(previous: Buffer, data: Buffer): Buffer {
  if (data.length >= FINGERPRINT_BYTES) return Buffer.from(data.subarray(data.length - FINGERPRINT_BYTES));
  const joined = Buffer.concat([previous, data]);
  return Buffer.from(joined.subarray(Math.max(0, joined.length - FINGERPRINT_BYTES)));
}
