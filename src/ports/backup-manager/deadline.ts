import { performance } from 'node:perf_hooks';
import { DeadlineError } from '../../domain/manager-errors';

/** How long a person waits on the Backup Manager for one command (and one call), all retries included. */
export const DEFAULT_DEADLINE_MS = 15_000;

/**
 * A signal that aborts with `reason()` after `ms`. The timer does not keep the process alive;
 * `dispose` frees it early when the work ended first.
 */
export function timeoutSignal(ms: number, reason: () => unknown): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(reason()), Math.max(0, ms));
  timer.unref();
  return { signal: controller.signal, dispose: () => clearTimeout(timer) };
}

/** One overall time budget shared by several Backup Manager calls. */
export interface Budget {
  readonly ms: number;
  remainingMs(): number;
  /**
   * Aborts with a DeadlineError once the budget less `reserveMs` is spent: a POST leaves a
   * reserve so the read that reconciles an ambiguous answer still fits in the budget.
   */
  signal(reserveMs?: number): AbortSignal;
}

export function startBudget(ms: number, now: () => number = () => performance.now()): Budget {
  const end = now() + ms;
  return {
    ms,
    remainingMs: () => Math.max(0, end - now()),
    // Not disposed: the timer is unref'd and ends with the budget anyway.
    signal: (reserveMs = 0) => timeoutSignal(end - reserveMs - now(), () => new DeadlineError(ms)).signal,
  };
}
