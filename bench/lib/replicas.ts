import { join } from 'node:path';
import { z } from 'zod';
import { freshDatabase, startTestPostgres, stopTestPostgres } from '../../test/pg/postgres';
import { REPO_ROOT, spawnBot, type ChildServer } from './child';
import { httpRequest, sleep } from './http';
import type { Defer } from './run';

/**
 * Several replicas of the bot (`node dist/main.js`) on one PostgreSQL: the tests' throwaway
 * PostgreSQL 17 from npm (test/pg), so a bench and the tests start it the same way.
 */

/** Starts the PostgreSQL, stopped by the bench's cleanups; returns a maker of fresh, empty databases (their URLs). */
export async function startPostgres(defer: Defer): Promise<(prefix: string) => Promise<string>> {
  // server.mjs is not compiled into .bench-build: the one in the checkout is run.
  const server = await startTestPostgres(join(REPO_ROOT, 'test', 'pg', 'server.mjs'));
  defer(() => stopTestPostgres(server));
  return freshDatabase;
}

/** Starts `count` replicas one after another (the first one up leads); each is stopped by the bench's cleanups. */
export async function startReplicas(count: number, env: Record<string, string>, defer: Defer): Promise<ChildServer[]> {
  const bots: ChildServer[] = [];
  for (let i = 0; i < count; i++) {
    const { bot } = await spawnBot(env);
    defer(() => bot.stop());
    bots.push(bot);
  }
  return bots;
}

const Readiness = z.object({ role: z.string().optional() });

/** What the replica's /readyz says it is; undefined when it does not answer (e.g. killed). */
export async function roleOf(bot: ChildServer): Promise<string | undefined> {
  if (bot.child.exitCode !== null || bot.child.signalCode !== null) return undefined;
  try {
    const res = await httpRequest(`${bot.url}/readyz`);
    return Readiness.parse(JSON.parse(res.text)).role;
  } catch {
    return undefined;
  }
}

/**
 * Asks every replica's /readyz, each again `everyMs` after its last answer, until exactly one
 * says `leader` and all the others `follower`. Resolves with it and the time (Date.now()) the
 * answer that completed the picture arrived.
 */
export async function oneLeader(bots: readonly ChildServer[], timeoutMs: number, everyMs = 10): Promise<{ leader: ChildServer; at: number }> {
  const roles = new Map<ChildServer, string | undefined>();
  const deadline = Date.now() + timeoutMs;
  let found: { leader: ChildServer; at: number } | undefined;
  const settled = (): ChildServer | undefined => {
    const leaders = bots.filter((b) => roles.get(b) === 'leader');
    return leaders.length === 1 && bots.every((b) => roles.get(b) === 'leader' || roles.get(b) === 'follower') ? leaders[0] : undefined;
  };
  await Promise.all(
    bots.map(async (bot) => {
      while (found === undefined && Date.now() < deadline) {
        roles.set(bot, await roleOf(bot));
        const leader = settled();
        if (leader !== undefined) found ??= { leader, at: Date.now() };
        else await sleep(everyMs);
      }
    }),
  );
  if (found === undefined) throw new Error(`no single leader within ${timeoutMs} ms (roles: ${bots.map((b) => roles.get(b) ?? 'no answer').join(', ')})`);
  return found;
}
