import { within } from '../../within';
import type { Metrics } from '../../outbound/metrics';
import { pathOf, sendJson, type Route } from './server';

/** Process up: nothing else is checked, so an orchestrator never restarts a healthy bot for a slow manager. */
export function healthRoute(): Route {
  return (req, res) => {
    if (req.method !== 'GET' || pathOf(req) !== '/healthz') return false;
    sendJson(res, 200, { status: 'ok' });
    return true;
  };
}

export type PartState = 'ok' | 'down' | 'restoring';

export interface ReadinessChecks {
  slack: () => Promise<boolean>;
  backupManager: () => Promise<PartState>;
  /** Whether the state store takes a write; a bot that can not record must not take work. */
  store?: () => Promise<boolean>;
  /** The Backup Manager API generation in use ('legacy' | 'rest' | 'unknown'); read after the manager check, which may have found it out. */
  api?: () => string;
  /** How long the Slack check may take; a Slack that does not answer by then is down (default 5 s). */
  slackProbeMs?: number;
  /** 'leader' or 'follower' (several replicas on PostgreSQL; one bot is always the leader). */
  role?: () => string;
}

/** `check()`, or false when it fails or has not answered within `ms`. */
async function answersWithin(check: () => Promise<boolean>, ms: number): Promise<boolean> {
  const answer = await within(check(), ms);
  return answer.kind === 'value' && answer.value;
}

/** Ready when Slack accepts the token and the Backup Manager answers; the body says which part is down. */
export function readinessRoute(checks: ReadinessChecks): Route {
  return async (req, res) => {
    if (req.method !== 'GET' || pathOf(req) !== '/readyz') return false;
    const [slack, backupManager, store] = await Promise.all([
      answersWithin(checks.slack, checks.slackProbeMs ?? 5000),
      checks.backupManager().catch((): PartState => 'down'),
      checks.store ? checks.store().catch(() => false) : Promise.resolve(undefined),
    ]);
    const body = {
      slack: slack ? 'ok' : 'down',
      backupManager,
      ...(store === undefined ? {} : { store: store ? 'ok' : 'down' }),
      ...(checks.api ? { api: checks.api() } : {}),
      // A follower is ready too: it answers Slack; the leader does what must happen once.
      ...(checks.role ? { role: checks.role() } : {}),
    };
    // An a9s-pg restore takes the manager down by design; the bot is still doing its job then.
    const ready = slack && backupManager !== 'down' && store !== false;
    sendJson(res, ready ? 200 : 503, { ready, ...body });
    return true;
  };
}

export function metricsRoute(metrics: Metrics): Route {
  return async (req, res) => {
    if (req.method !== 'GET' || pathOf(req) !== '/metrics') return false;
    const text = await metrics.render();
    res.writeHead(200, { 'content-type': metrics.contentType });
    res.end(text);
    return true;
  };
}
