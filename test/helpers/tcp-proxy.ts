import type { Socket } from 'node:net';
import { Worker } from 'node:worker_threads';

export interface TcpProxy {
  port: number;
  /** Stops forwarding bytes both ways, closes included; sockets stay open (a network partition). */
  freeze(): void;
  /** Destroys all current connections, both sides. */
  cut(): void;
  /** Forwards again, first what was held back during the freeze. */
  thaw(): void;
  close(): Promise<void>;
  /** Called for every chunk passed on from a client to the server: proof that a client still talks. */
  onForward(listener: () => void): void;
}

/** One direction of one proxied connection: what it holds back while frozen. */
interface Leg {
  from: Socket;
  to: Socket;
  held: Buffer[];
  closed: boolean;
}

/**
 * A loopback TCP proxy in front of `targetPort`, so a test can partition the one client that
 * goes through it. While frozen, connections are still accepted (the client can not tell), but
 * nothing passes; not even a close, which would let the far side notice the client is gone.
 */
export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  // Required here, not imported: the function must use nothing of this module's scope, so that
  // startTcpProxyThread can run its source in a worker thread.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { connect, createServer } = require('node:net') as typeof import('node:net');
  let frozen = false;
  const legs = new Set<Leg>();
  const sockets = new Set<Socket>();
  const forwardListeners: (() => void)[] = [];

  const flush = (leg: Leg): void => {
    for (const chunk of leg.held.splice(0)) if (!leg.to.destroyed) leg.to.write(chunk);
    if (leg.closed) leg.to.destroy();
  };

  const wire = (from: Socket, to: Socket, upstream: boolean): void => {
    const leg: Leg = { from, to, held: [], closed: false };
    legs.add(leg);
    from.on('data', (chunk: Buffer) => {
      if (frozen) leg.held.push(chunk);
      else if (!to.destroyed) {
        to.write(chunk);
        if (upstream) for (const listener of forwardListeners) listener();
      }
    });
    from.on('close', () => {
      leg.closed = true;
      if (frozen) return;
      flush(leg);
      legs.delete(leg);
    });
  };

  const server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined); // resets are what partitions and cuts are made of
      s.on('close', () => sockets.delete(s));
    }
    wire(client, upstream, true);
    wire(upstream, client, false);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('tcp proxy: no port');

  const cut = (): void => {
    for (const s of sockets) s.destroy();
    sockets.clear();
    legs.clear();
  };

  return {
    port: address.port,
    freeze: () => {
      frozen = true;
    },
    thaw: () => {
      frozen = false;
      for (const leg of legs) flush(leg);
      for (const leg of [...legs]) if (leg.closed) legs.delete(leg);
    },
    cut,
    onForward: (listener) => void forwardListeners.push(listener),
    close: () => {
      cut();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A proxy the test controls from its own thread; it keeps forwarding while that thread waits. */
export interface TcpProxyThread {
  port: number;
  freeze(): Promise<void>;
  thaw(): Promise<void>;
  cut(): Promise<void>;
  close(): Promise<void>;
}

/**
 * startTcpProxy in a worker thread, for a client that blocks the test's own thread while it
 * waits for the server (the store's synchronous PostgreSQL calls): a proxy on that thread could
 * not pass a byte until the wait ended. Each control call resolves once the proxy has done it.
 */
export async function startTcpProxyThread(targetPort: number): Promise<TcpProxyThread> {
  const source = `
    const { parentPort, workerData } = require('node:worker_threads');
    (${startTcpProxy.toString()})(workerData.targetPort).then((proxy) => {
      parentPort.on('message', (op) => Promise.resolve(proxy[op]()).then(() => parentPort.postMessage(op)));
      parentPort.postMessage(proxy.port);
    });`;
  const worker = new Worker(source, { eval: true, workerData: { targetPort } });
  const answer = <T>(): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
  const port = await answer<number>();
  const control = async (op: 'freeze' | 'thaw' | 'cut' | 'close'): Promise<void> => {
    const done = answer<string>();
    worker.postMessage(op);
    await done;
  };
  return {
    port,
    freeze: () => control('freeze'),
    thaw: () => control('thaw'),
    cut: () => control('cut'),
    close: async () => {
      await control('close');
      await worker.terminate();
    },
  };
}
