import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BodyTooLargeError, readBody, requestPath, sendJson } from '../http-util';
import { SANDBOX_APP_ID } from '../slack-requests';
import { DEFAULT_CHANNELS, DEFAULT_TEAM, DEFAULT_USERS } from './defaults';
import { FaultQueue, type Fault } from './faults';
import { METHODS, unknownMethod, type MethodResult } from './methods';
import { ChannelRateLimiter } from './rate-limiter';
import { waitForRecord } from './recorder';
import { parseApiRequest } from './request-args';
import { ResponseUrls } from './response-urls';
import type {
  FakeSlackEvents,
  RecordedCall,
  RecordedResponse,
  ResponseContext,
  SlackChannel,
  SlackUser,
  TeamInfo,
  WorkspaceSnapshot,
} from './types';
import { Usergroups } from './usergroups';
import { Views } from './views';
import { Workspace } from './workspace';

export interface FakeSlackOptions {
  /** When set, every Web API call must carry exactly this token (`invalid_auth` otherwise). */
  botToken?: string;
  rateLimit?: { perChannelPerSecond: number };
  /** Channels the bot has not been invited to: chat.* answers `not_in_channel`. */
  notInChannel?: string[];
  /** Where `handle` is reachable, ending in '/'; response_url links are minted under it. */
  url?: string;
  /** Clock in epoch milliseconds, for message ts, the rate limit and `at`. */
  now?: () => number;
  team?: TeamInfo;
  users?: readonly SlackUser[];
  channels?: readonly SlackChannel[];
  /**
   * Socket Mode: `apps.connections.open` answers `{ok:true, url}` with this WebSocket URL. It
   * needs an app-level token (`xapp-…`; a bot token gets `not_allowed_token_type`), and exactly
   * `appToken` when that is set. Unset, the method is unknown, as before.
   */
  socketModeUrl?: string;
  appToken?: string;
  /** Every Web API answer leaves this many milliseconds after the work was done (a slow Slack). */
  latencyMs?: number;
  /** User groups (`S…` → member ids) served by usergroups.users.list. */
  usergroups?: Readonly<Record<string, readonly string[]>>;
}

export interface FakeSlack {
  /** Serves `<url>api/<method>` and `<url>response/<id>`; false for any other path, left untouched. */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
  readonly url: string;
  readonly apiUrl: string;
  /** For a fake mounted on a server whose port is known only after listen(). */
  setUrl(url: string): void;
  readonly calls: readonly RecordedCall[];
  readonly responses: readonly RecordedResponse[];
  readonly events: EventEmitter<FakeSlackEvents>;
  readonly workspace: Workspace;
  /** Membership of user groups; change it to grant or revoke. */
  readonly usergroups: Usergroups;
  /** Open modals (views.open / views.update) and the trigger ids the page mints. */
  readonly views: Views;
  responseUrlFor(ctx: ResponseContext): string;
  waitForCall(predicate: (call: RecordedCall) => boolean, timeoutMs?: number): Promise<RecordedCall>;
  waitForResponse(predicate: (response: RecordedResponse) => boolean, timeoutMs?: number): Promise<RecordedResponse>;
  failNext(method: string, fault?: Fault): void;
  snapshot(): WorkspaceSnapshot;
  /** Forgets messages, ephemerals, recorded calls, queued faults and rate-limit windows. */
  reset(): void;
}

const DEFAULT_WAIT_MS = 5000;

function withSlash(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}

export function createFakeSlack(options: FakeSlackOptions = {}): FakeSlack {
  const now = options.now ?? Date.now;
  const events = new EventEmitter<FakeSlackEvents>();
  // Every open sandbox page and every pending waitFor* listens here.
  events.setMaxListeners(0);
  const workspace = new Workspace(
    options.team ?? DEFAULT_TEAM,
    options.users ?? DEFAULT_USERS,
    options.channels ?? DEFAULT_CHANNELS,
    new Set(options.notInChannel ?? []),
    now,
    events.emit.bind(events),
  );
  const limiter =
    options.rateLimit === undefined ? undefined : new ChannelRateLimiter(options.rateLimit.perChannelPerSecond, now);
  const faults = new FaultQueue();
  const usergroups = new Usergroups(options.usergroups);
  const views = new Views(events.emit.bind(events));
  const responseUrls = new ResponseUrls(workspace);
  const calls: RecordedCall[] = [];
  const responses: RecordedResponse[] = [];
  let url = withSlash(options.url ?? 'http://127.0.0.1/');

  const basePath = (): string => new URL(url).pathname;

  function authFailure(token: string | undefined): MethodResult | undefined {
    if (options.botToken === undefined) return undefined;
    if (token === undefined) return { status: 200, body: { ok: false, error: 'not_authed' } };
    if (token !== options.botToken) return { status: 200, body: { ok: false, error: 'invalid_auth' } };
    return undefined;
  }

  /** apps.connections.open takes the app-level token, not the bot token. */
  function appAuthFailure(token: string | undefined): MethodResult | undefined {
    if (token === undefined) return { status: 200, body: { ok: false, error: 'not_authed' } };
    if (!token.startsWith('xapp-')) return { status: 200, body: { ok: false, error: 'not_allowed_token_type' } };
    if (options.appToken !== undefined && token !== options.appToken) return { status: 200, body: { ok: false, error: 'invalid_auth' } };
    return undefined;
  }

  /** The method's answer; undefined for a call that hangs (no answer ever leaves). */
  async function invoke(method: string, token: string | undefined, args: Record<string, unknown>): Promise<MethodResult | undefined> {
    const socketMode = method === 'apps.connections.open' ? options.socketModeUrl : undefined;
    const denied = socketMode === undefined ? authFailure(token) : appAuthFailure(token);
    if (denied !== undefined) return denied;
    const fault = faults.take(method, args.channel);
    const handler = METHODS[method];
    const work = (): MethodResult =>
      socketMode !== undefined
        ? { status: 200, body: { ok: true, url: socketMode } }
        : handler === undefined
          ? unknownMethod()
          : handler(args, { workspace, limiter, appId: SANDBOX_APP_ID, usergroups, views });
    if (fault === undefined) return work();
    // Slack may do the work and still fail to answer: the message is there, the poster can not know.
    if (fault.accept === true) work();
    if (fault.delayMs !== undefined) await new Promise((r) => setTimeout(r, fault.delayMs));
    if (fault.hang === true) return undefined;
    return { status: fault.status ?? 200, body: { ok: false, error: fault.error ?? 'internal_error' } };
  }

  async function serveApi(method: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const parsed = parseApiRequest(req, await readBody(req));
    const args = parsed.ok ? parsed.args : {};
    const result = parsed.ok ? await invoke(method, parsed.token, args) : { status: 200, body: { ok: false, error: parsed.error } };
    const call: RecordedCall = {
      method,
      args,
      at: now(),
      status: result?.status ?? 0,
      response: result?.body ?? { ok: false, error: 'no_answer' },
    };
    calls.push(call);
    events.emit('call', call);
    if (result === undefined) return; // hung: the socket is closed with the fake
    if (options.latencyMs !== undefined && options.latencyMs > 0) await new Promise((r) => setTimeout(r, options.latencyMs));
    sendJson(res, result.status, result.body, result.headers);
  }

  async function serveResponse(id: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const outcome = responseUrls.receive(id, await readBody(req));
    if (outcome.recorded !== undefined) {
      const { ctx, body } = outcome.recorded;
      const response: RecordedResponse = { id, user: ctx.user, channel: ctx.channel, body, at: now() };
      responses.push(response);
      events.emit('response', response);
    }
    sendJson(res, outcome.status, outcome.body);
  }

  function guarded(work: Promise<void>, res: ServerResponse): void {
    work.catch((error: unknown) => {
      if (res.headersSent) return;
      const tooLarge = error instanceof BodyTooLargeError;
      sendJson(res, tooLarge ? 413 : 500, { ok: false, error: tooLarge ? 'request_too_large' : 'internal_error' });
    });
  }

  const describeCalls = (): string =>
    calls.map((c) => `${c.method}${typeof c.args.channel === 'string' ? `(${c.args.channel})` : ''}→${c.status}`).join(', ') ||
    'nothing';

  return {
    handle(req, res) {
      const path = requestPath(req);
      const base = basePath();
      if (!path.startsWith(base)) return false;
      const rest = path.slice(base.length);
      const api = /^api\/([A-Za-z0-9._]+)$/.exec(rest);
      if (api?.[1] !== undefined) {
        guarded(serveApi(api[1], req, res), res);
        return true;
      }
      const response = /^response\/([A-Za-z0-9]+)$/.exec(rest);
      if (response?.[1] !== undefined) {
        guarded(serveResponse(response[1], req, res), res);
        return true;
      }
      return false;
    },
    get url() {
      return url;
    },
    get apiUrl() {
      return `${url}api/`;
    },
    setUrl(next) {
      url = withSlash(next);
    },
    calls,
    responses,
    events,
    workspace,
    usergroups,
    views,
    responseUrlFor(ctx) {
      return `${url}response/${responseUrls.mint(ctx)}`;
    },
    waitForCall(predicate, timeoutMs = DEFAULT_WAIT_MS) {
      const subscribe = (listener: (call: RecordedCall) => void) => {
        events.on('call', listener);
        return () => events.off('call', listener);
      };
      return waitForRecord('call', calls, subscribe, predicate, timeoutMs, describeCalls);
    },
    waitForResponse(predicate, timeoutMs = DEFAULT_WAIT_MS) {
      const subscribe = (listener: (response: RecordedResponse) => void) => {
        events.on('response', listener);
        return () => events.off('response', listener);
      };
      return waitForRecord('response', responses, subscribe, predicate, timeoutMs, () =>
        responses.map((r) => `${r.id}(${r.user}@${r.channel})`).join(', ') || 'nothing',
      );
    },
    failNext(method, fault = {}) {
      faults.add(method, fault);
    },
    snapshot() {
      return workspace.snapshot();
    },
    reset() {
      calls.length = 0;
      responses.length = 0;
      faults.reset();
      limiter?.reset();
      responseUrls.reset();
      views.clear();
      workspace.clear();
    },
  };
}
