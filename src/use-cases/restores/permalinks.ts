import type { Logger } from 'pino';

/** Enough for every restore thread a team has open at once; older links are fetched again. */
const MAX_KEPT = 500;

/**
 * Slack permalinks of restore cards, for the audit message in NOTIFY_CHANNEL. Fetched in the
 * background (chat.getPermalink) once per message and kept in memory: publishing a decision
 * is synchronous and must not wait on Slack, and after a restart a link is simply fetched again.
 */
export class Permalinks {
  private readonly known = new Map<string, string>();
  /** Keys being fetched, with everyone waiting for each (the audit message, the App Home). */
  private readonly fetching = new Map<string, Array<() => void>>();

  constructor(
    private readonly fetch: (channel: string, ts: string) => Promise<string | undefined>,
    private readonly logger: Logger,
  ) {}

  get(channel: string, ts: string): string | undefined {
    return this.known.get(`${channel}:${ts}`);
  }

  /** Fetches the link unless it is known or on its way; `ready` runs once it is known. */
  request(channel: string, ts: string, ready: () => void): void {
    const key = `${channel}:${ts}`;
    if (this.known.has(key)) return;
    const waiting = this.fetching.get(key);
    if (waiting) {
      waiting.push(ready);
      return;
    }
    this.fetching.set(key, [ready]);
    this.fetch(channel, ts)
      .then((link) => {
        if (!link) return;
        if (this.known.size >= MAX_KEPT) this.known.delete(this.known.keys().next().value as string);
        this.known.set(key, link);
        for (const done of this.fetching.get(key) ?? []) done();
      })
      .catch((err: unknown) => this.logger.warn({ err: (err as Error).message, channel }, 'chat.getPermalink failed; the audit message goes without a link'))
      .finally(() => this.fetching.delete(key));
  }
}
