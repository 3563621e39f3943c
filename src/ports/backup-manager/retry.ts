/**
 * Exponential backoff with full jitter for idempotent reads.
 *
 * Written here rather than taken from npm: p-retry 9 is ESM-only and needs Node 22, and
 * exponential-backoff can not cancel a pending wait with an AbortSignal, which the poller
 * needs to stop promptly on shutdown or when a user cancels a watch.
 */

import { backoffDelay as delayOf, type BackoffPolicy } from '../../domain/backoff';

export interface RetryPolicy extends BackoffPolicy {
  /** Retries after the first attempt; 0 disables retrying. */
  retries: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { retries: 4, minDelayMs: 250, maxDelayMs: 5_000 };

/** The one backoff formula (domain/backoff), for callers that hold a whole RetryPolicy. */
export const backoffDelay: (retryIndex: number, policy: RetryPolicy, random?: () => number) => number = delayOf;

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export interface RetryInfo {
  error: unknown;
  /** The retry about to happen, 1-based. */
  retry: number;
  delayMs: number;
}

export interface RetryOptions extends RetryPolicy {
  shouldRetry: (error: unknown) => boolean;
  signal?: AbortSignal;
  onRetry?: (info: RetryInfo) => void;
  random?: () => number;
  /** Time left in the caller's budget: a wait that would outlast it ends the retries at once. */
  remainingMs?: () => number;
}

/**
 * Calls `fn` until it resolves, `shouldRetry` says no, the retries are spent or the next wait
 * would outlast `remainingMs`; then rethrows the last error. An abort (before an attempt or
 * during a wait) rejects with the signal's reason.
 */
export async function retryWithBackoff<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    options.signal?.throwIfAborted();
    try {
      return await fn(attempt);
    } catch (error) {
      options.signal?.throwIfAborted();
      if (attempt >= options.retries || !options.shouldRetry(error)) throw error;
      const delayMs = backoffDelay(attempt, options, options.random);
      // The last real answer ("503") says more than a deadline that would cut the wait short.
      if (options.remainingMs && delayMs >= options.remainingMs()) throw error;
      options.onRetry?.({ error, retry: attempt + 1, delayMs });
      await sleep(delayMs, options.signal);
    }
  }
}

/**
 * An AbortSignal that aborts when any input does. AbortSignal.any would do, but listeners
 * on a long-lived signal (the client's own) must be removed after each call: `dispose`.
 */
export function linkSignals(...signals: (AbortSignal | undefined)[]): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const present = signals.filter((s): s is AbortSignal => s !== undefined);
  const cleanups: (() => void)[] = [];
  for (const s of present) {
    if (s.aborted) {
      controller.abort(s.reason);
      break;
    }
    const onAbort = () => controller.abort(s.reason);
    s.addEventListener('abort', onAbort, { once: true });
    cleanups.push(() => s.removeEventListener('abort', onAbort));
  }
  return { signal: controller.signal, dispose: () => cleanups.forEach((c) => c()) };
}
