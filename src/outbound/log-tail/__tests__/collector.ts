/** Collects emitted lines and lets a test await a condition on them instead of sleeping. */
export class LineCollector {
  readonly lines: string[] = [];
  readonly batches: string[][] = [];
  private waiters: Array<{ done: (lines: string[]) => boolean; resolve: () => void }> = [];

  readonly onLines = (lines: string[]): void => {
    this.batches.push([...lines]);
    this.lines.push(...lines);
    this.waiters = this.waiters.filter((w) => {
      if (!w.done(this.lines)) return true;
      w.resolve();
      return false;
    });
  };

  /** Resolves once `done` holds; the jest timeout is the bound. */
  until(done: (lines: string[]) => boolean): Promise<void> {
    if (done(this.lines)) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ done, resolve }));
  }

  untilIncludes(...expected: string[]): Promise<void> {
    return this.until((lines) => expected.every((e) => lines.includes(e)));
  }
}

/** A promise with its resolver, for callbacks a test waits on. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Counts of the active handle types a follower could leak. */
export function activeResources(types: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const t of types) counts[t] = 0;
  for (const r of process.getActiveResourcesInfo()) {
    if (r in counts) counts[r] = (counts[r] ?? 0) + 1;
  }
  return counts;
}
