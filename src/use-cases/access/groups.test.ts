import { Writable } from 'node:stream';
import { createLogger } from '../../logger';
import { GROUP_CACHE_MAX_MS, GroupResolver } from './groups';

const logger = createLogger({ level: 'silent', destination: new Writable({ write: (_c, _e, cb) => cb() }) });

function setup(options: { ttlMs?: number; timeoutMs?: number } = {}) {
  let now = 1_000_000;
  const members = new Map<string, string[]>([['S0A', ['U0BOB']]]);
  const lookups: string[] = [];
  let failNext: unknown;
  let hang = false;
  const port = async (group: string): Promise<string[]> => {
    lookups.push(group);
    if (hang) return new Promise<string[]>(() => undefined);
    if (failNext !== undefined) {
      const err = failNext;
      failNext = undefined;
      throw err;
    }
    const found = members.get(group);
    if (!found) throw Object.assign(new Error('An API error occurred: no_such_subteam'), { data: { error: 'no_such_subteam' } });
    return found;
  };
  const resolver = new GroupResolver(port, () => now, logger, options);
  return {
    resolver,
    members,
    lookups,
    advance: (ms: number) => void (now += ms),
    fail: (err: unknown) => void (failNext = err),
    hang: () => void (hang = true),
  };
}

describe('GroupResolver', () => {
  it('caches members for at most five minutes, then asks again', async () => {
    const s = setup({ ttlMs: 60 * 60_000 });
    expect((await s.resolver.resolve(['S0A'])).get('S0A')).toEqual(new Set(['U0BOB']));
    s.members.set('S0A', ['U0CAROL']);
    s.advance(GROUP_CACHE_MAX_MS - 1);
    expect((await s.resolver.resolve(['S0A'])).get('S0A')).toEqual(new Set(['U0BOB']));
    s.advance(1);
    expect((await s.resolver.resolve(['S0A'])).get('S0A')).toEqual(new Set(['U0CAROL']));
    expect(s.lookups).toEqual(['S0A', 'S0A']);
  });

  it('yields undefined for a group that can not be read, does not cache the failure, and never falls back to an expired entry', async () => {
    const s = setup();
    await s.resolver.resolve(['S0A']);
    s.advance(GROUP_CACHE_MAX_MS);
    s.fail(new Error('socket hang up'));
    expect((await s.resolver.resolve(['S0A'])).get('S0A')).toBeUndefined();
    expect((await s.resolver.resolve(['S0A', 'S0MISSING'])).get('S0A')).toEqual(new Set(['U0BOB']));
    expect((await s.resolver.resolve(['S0MISSING'])).get('S0MISSING')).toBeUndefined();
  });

  it('counts a lookup slower than the timeout as failed', async () => {
    const s = setup({ timeoutMs: 20 });
    s.hang();
    expect((await s.resolver.resolve(['S0A'])).get('S0A')).toBeUndefined();
  });

  it('shares one lookup among simultaneous checks', async () => {
    const s = setup();
    const all = await Promise.all([s.resolver.resolve(['S0A']), s.resolver.resolve(['S0A']), s.resolver.resolve(['S0A', 'S0A'])]);
    expect(all.map((m) => m.get('S0A'))).toEqual([new Set(['U0BOB']), new Set(['U0BOB']), new Set(['U0BOB'])]);
    expect(s.lookups).toEqual(['S0A']);
  });
});
