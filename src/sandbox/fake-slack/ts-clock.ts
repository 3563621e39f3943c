/**
 * Slack message ids: "seconds.microseconds" strings that are unique per channel and sort by
 * time. Steps of 100µs keep them readable ("1732590000.000100") and strictly increasing even
 * when many messages land in the same millisecond or the injected clock stands still.
 */
export class TsClock {
  private lastMicros = 0;

  constructor(private readonly now: () => number) {}

  next(): string {
    const micros = Math.max(Math.floor(this.now()) * 1000, this.lastMicros + 100);
    this.lastMicros = micros;
    const seconds = Math.floor(micros / 1_000_000);
    return `${seconds}.${String(micros % 1_000_000).padStart(6, '0')}`;
  }
}
