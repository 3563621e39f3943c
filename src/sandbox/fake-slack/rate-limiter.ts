/**
 * Slack allows about one message per second per channel and answers bursts with HTTP 429 and
 * Retry-After. A sliding one-second window per channel reproduces that closely enough for the
 * bot's outbox to be tested against it.
 */
export class ChannelRateLimiter {
  private readonly windows = new Map<string, number[]>();

  constructor(
    private readonly perSecond: number,
    private readonly now: () => number,
  ) {}

  /** Counts the call when it is allowed; a refused call does not use up the window. */
  take(channel: string): { allowed: true } | { allowed: false; retryAfterSeconds: number } {
    const now = this.now();
    const recent = (this.windows.get(channel) ?? []).filter((at) => now - at < 1000);
    if (recent.length >= this.perSecond) {
      this.windows.set(channel, recent);
      const oldest = recent[0] ?? now;
      return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((oldest + 1000 - now) / 1000)) };
    }
    recent.push(now);
    this.windows.set(channel, recent);
    return { allowed: true };
  }

  reset(): void {
    this.windows.clear();
  }
}
