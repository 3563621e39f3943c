import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';

/** One request that passed the tap: the last path segment (a Slack Web API method) and when it arrived. */
export interface TappedRequest {
  method: string;
  at: number;
}

export interface HttpTap {
  /** Where the client goes instead of the target: the same path under this origin. */
  url: string;
  readonly requests: readonly TappedRequest[];
  close(): Promise<void>;
}

/**
 * A loopback HTTP forwarder in front of `targetUrl` that notes every request it passes on. One
 * tap per client tells which client made a call, which the target (the fake Slack, which
 * records no token) can not. `at` is taken on arrival, so it is no earlier than the send.
 */
export async function startHttpTap(targetUrl: string): Promise<HttpTap> {
  const target = new URL(targetUrl);
  const requests: TappedRequest[] = [];
  const forward = (req: IncomingMessage, res: ServerResponse): void => {
    const path = req.url ?? '/';
    requests.push({ method: path.split('?')[0]?.split('/').pop() ?? '', at: Date.now() });
    const upstream = request(
      { host: target.hostname, port: target.port, path, method: req.method, headers: { ...req.headers, host: target.host }, agent: false },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  };
  const server = createServer(forward);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('http tap: no port');
  return {
    url: `http://127.0.0.1:${address.port}${target.pathname}`,
    requests,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
