/**
 * Misbehaviour a test can switch on, one at a time, to see how the bot copes with a Backup
 * Manager (or whatever sits in front of it) that is down, slow, or answers nonsense.
 */

export interface FaultScope {
  /** Only requests with this method (e.g. 'GET'). */
  method?: string;
  /** Only requests whose path (without query) equals this string or matches this pattern. */
  path?: string | RegExp;
  /** Only this many matching requests; then the fault clears itself. */
  times?: number;
  /**
   * Handle the request for real (a POST does start its backup) and only then answer badly:
   * the ambiguous failure a client must not blindly retry.
   */
  afterProcessing?: boolean;
}

export type ScopedFault = FaultScope &
  (
    | { kind: 'status'; status: number; body?: string }
    | { kind: 'html500' }
    | { kind: 'malformed' }
    | { kind: 'wrongShape' }
    /** Answers (normally) after `delayMs`; the request itself is handled at once. */
    | { kind: 'slow'; delayMs: number }
    /** Tasks report `status` instead of their real one (all, or only of backup/restore `id`). */
    | { kind: 'unknownStatus'; status: string; id?: number }
    /** The connection is dropped without an answer. */
    | { kind: 'reset' }
  );

/** Connections are refused: nothing listens on the port until the fault is cleared. */
export type Fault = { kind: 'down' } | ScopedFault;

export interface CannedAnswer {
  status: number;
  contentType: string;
  body: string;
}

export function faultMatches(fault: ScopedFault, method: string, path: string): boolean {
  if (fault.method !== undefined && fault.method.toUpperCase() !== method.toUpperCase()) return false;
  if (fault.path === undefined) return true;
  if (typeof fault.path === 'string') return fault.path === path;
  fault.path.lastIndex = 0;
  return fault.path.test(path);
}

/** Faults whose request still reaches the routes (they change how, or when, it is answered). */
export function faultHandlesRequest(fault: ScopedFault): boolean {
  return fault.kind === 'slow' || fault.kind === 'unknownStatus' || fault.afterProcessing === true;
}

/** The answer that replaces the real one, or null when the real one is sent (maybe late or altered). */
export function cannedAnswer(fault: ScopedFault): CannedAnswer | null {
  switch (fault.kind) {
    case 'status':
      return { status: fault.status, contentType: 'text/plain; charset=utf-8', body: fault.body ?? `${fault.status} ${statusText(fault.status)}\n` };
    case 'html500':
      return { status: 500, contentType: 'text/html; charset=utf-8', body: RAILS_500_PAGE };
    case 'malformed':
      return { status: 200, contentType: 'application/json; charset=utf-8', body: '{"backups":[{"backup_agent_task":{"msg":null,"status":"do' };
    case 'wrongShape':
      return { status: 200, contentType: 'application/json; charset=utf-8', body: '{"ok":true,"result":[{"name":"a9s-pg"}]}' };
    case 'slow':
    case 'unknownStatus':
    case 'reset':
      return null;
  }
}

/** What a proxy in front of the manager answers while a9s-pg is being restored (outage mode '503'). */
export const OUTAGE_503: CannedAnswer = {
  status: 503,
  contentType: 'text/html; charset=utf-8',
  body: '<html><body><h1>503 Service Unavailable</h1>\nNo server is available to handle this request.\n</body></html>\n',
};

function statusText(status: number): string {
  const texts: Record<number, string> = {
    400: 'Bad Request',
    401: 'Unauthorized',
    403: 'Forbidden',
    404: 'Not Found',
    409: 'Conflict',
    410: 'Gone',
    422: 'Unprocessable Entity',
    423: 'Locked',
    429: 'Too Many Requests',
    500: 'Internal Server Error',
    502: 'Bad Gateway',
    503: 'Service Unavailable',
    504: 'Gateway Timeout',
  };
  return texts[status] ?? 'Error';
}

const RAILS_500_PAGE = `<!DOCTYPE html>
<html>
<head>
  <title>We're sorry, but something went wrong (500)</title>
</head>
<body>
  <div class="dialog">
    <h1>We're sorry, but something went wrong.</h1>
  </div>
  <p>If you are the application owner check the logs for more information.</p>
</body>
</html>
`;
