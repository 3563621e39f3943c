/** Subscribes a listener and returns the matching unsubscribe. */
export type Subscribe<T> = (listener: (item: T) => void) => () => void;

/**
 * Resolves with the first item, already recorded or still to come, that matches. Tests await
 * this instead of sleeping, so they are as fast as the bot and fail with a useful message.
 */
export function waitForRecord<T>(
  what: string,
  existing: readonly T[],
  subscribe: Subscribe<T>,
  predicate: (item: T) => boolean,
  timeoutMs: number,
  describe: () => string,
): Promise<T> {
  const found = existing.find(predicate);
  if (found !== undefined) return Promise.resolve(found);
  return new Promise((resolve, reject) => {
    const unsubscribe = subscribe((item) => {
      if (!predicate(item)) return;
      clearTimeout(timer);
      unsubscribe();
      resolve(item);
    });
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new Error(`no matching ${what} within ${timeoutMs} ms; recorded so far: ${describe()}`));
    }, timeoutMs);
  });
}
