import type { Logger } from 'pino';
import type { GroupMembers } from '../../domain/access-policy';

/** The one Slack call group resolution needs (usergroups.users.list); injected so tests and the sandbox supply their own. */
import type { UsergroupMembersPort } from '../../ports/slack';

export type { UsergroupMembersPort };

/** Slack's membership is cached at most this long, so a change takes effect within it. */
export const GROUP_CACHE_MAX_MS = 5 * 60_000;
/** A lookup slower than this counts as failed: a slash command must be answered within 3 s. */
export const GROUP_LOOKUP_TIMEOUT_MS = 2_000;

interface Entry {
  members: ReadonlySet<string>;
  at: number;
}

/**
 * Resolves user groups to their members with a cache of at most five minutes. A failed or
 * slow lookup yields `undefined` for that group and is not cached, and an expired entry is
 * never used in its place: the policy then refuses (fail closed) rather than trust old data.
 */
export class GroupResolver {
  private readonly cache = new Map<string, Entry>();
  private readonly inFlight = new Map<string, Promise<ReadonlySet<string> | undefined>>();
  private readonly ttlMs: number;
  private readonly timeoutMs: number;

  constructor(
    private readonly port: UsergroupMembersPort,
    private readonly clock: () => number,
    private readonly logger: Logger,
    options: { ttlMs?: number; timeoutMs?: number } = {},
  ) {
    this.ttlMs = Math.min(options.ttlMs ?? GROUP_CACHE_MAX_MS, GROUP_CACHE_MAX_MS);
    this.timeoutMs = options.timeoutMs ?? GROUP_LOOKUP_TIMEOUT_MS;
  }

  async resolve(groups: readonly string[]): Promise<GroupMembers> {
    const unique = [...new Set(groups)];
    const found = await Promise.all(unique.map(async (g) => [g, await this.members(g)] as const));
    return new Map(found);
  }

  private members(group: string): Promise<ReadonlySet<string> | undefined> {
    const cached = this.cache.get(group);
    if (cached && this.clock() - cached.at < this.ttlMs) return Promise.resolve(cached.members);
    // Simultaneous checks share one lookup rather than each asking Slack.
    const running = this.inFlight.get(group);
    if (running) return running;
    const lookup = this.lookup(group).finally(() => this.inFlight.delete(group));
    this.inFlight.set(group, lookup);
    return lookup;
  }

  private async lookup(group: string): Promise<ReadonlySet<string> | undefined> {
    const startedAt = this.clock();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.timeoutMs);
    });
    try {
      const result = await Promise.race([this.port(group), timeout]);
      if (result === 'timeout') {
        this.cache.delete(group);
        this.logger.warn({ group, timeoutMs: this.timeoutMs }, 'user group lookup timed out; refusing what depends on it');
        return undefined;
      }
      const members = new Set(result);
      this.cache.set(group, { members, at: startedAt });
      return members;
    } catch (err) {
      this.cache.delete(group);
      this.logger.warn({ group, slackError: slackErrorOf(err) }, 'user group lookup failed; refusing what depends on it');
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Slack's error code only: an error object of the Web API client may carry request headers. */
function slackErrorOf(err: unknown): string {
  const data = (err as { data?: { error?: unknown } }).data;
  if (typeof data?.error === 'string') return data.error;
  return err instanceof Error ? err.message.slice(0, 200) : 'error';
}
