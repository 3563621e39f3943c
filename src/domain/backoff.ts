/** The bounds of an exponential backoff: the first wait (the base that doubles) and the longest. */
export interface BackoffPolicy {
  /** Lower bound of every wait, and the base that doubles per retry. */
  minDelayMs: number;
  /** Upper bound of every wait. */
  maxDelayMs: number;
}

/**
 * Wait before retry number `retryIndex` (0-based): uniform in [min, min(max, min·2^n)].
 * The jitter spreads the polls of several bot replicas; the floor keeps a refused
 * manager (a9s-pg restoring) from being hit again immediately. `random = () => 1` gives the
 * plain doubling, for a caller with nothing to spread.
 */
export function backoffDelay(retryIndex: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const min = Math.max(0, policy.minDelayMs);
  const max = Math.max(min, policy.maxDelayMs);
  // Cap the exponent so 2 ** n can not overflow to Infinity on a long outage.
  const ceiling = Math.min(max, min * 2 ** Math.min(retryIndex, 30));
  return Math.round(min + random() * (ceiling - min));
}
