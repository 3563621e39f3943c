import type { ServerResponse } from 'node:http';
import type { FakeSlack, FakeSlackEvents } from '../fake-slack';

/** Proxies and browsers drop idle streams; a comment line now and then keeps them open. */
const HEARTBEAT_MS = 20_000;

type Forwarded = Exclude<keyof FakeSlackEvents, 'call'>;
const FORWARDED: readonly Forwarded[] = ['message', 'update', 'delete', 'ephemeral', 'ephemeral_delete', 'response', 'reset', 'view', 'view_closed', 'home'];

/**
 * Server-sent events for the sandbox page: a full snapshot when a page connects (and again on
 * every reconnect, so nothing is missed in between), then each change of the fake workspace.
 * Web API calls go out as a short summary for the page's API log.
 */
export class EventStream {
  private readonly clients = new Set<ServerResponse>();
  private readonly unsubscribe: Array<() => void> = [];
  private readonly heartbeat: NodeJS.Timeout;

  constructor(private readonly fake: FakeSlack) {
    for (const name of FORWARDED) {
      const listener = (...args: unknown[]): void => this.broadcast(name, args[0] ?? {});
      fake.events.on(name, listener);
      this.unsubscribe.push(() => fake.events.off(name, listener));
    }
    const onCall = (call: FakeSlackEvents['call'][0]): void =>
      this.broadcast('call', {
        method: call.method,
        channel: typeof call.args.channel === 'string' ? call.args.channel : undefined,
        status: call.status,
        ok: call.response.ok === true,
        error: typeof call.response.error === 'string' ? call.response.error : undefined,
        at: call.at,
      });
    fake.events.on('call', onCall);
    this.unsubscribe.push(() => fake.events.off('call', onCall));
    this.heartbeat = setInterval(() => this.write(': ping\n\n'), HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  open(res: ServerResponse): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    });
    res.write('retry: 1000\n\n');
    res.write(frame('snapshot', this.fake.snapshot()));
    this.clients.add(res);
    // The response, not the request: a GET's request side may finish long before the page leaves.
    res.on('close', () => this.clients.delete(res));
  }

  get size(): number {
    return this.clients.size;
  }

  close(): void {
    clearInterval(this.heartbeat);
    for (const off of this.unsubscribe.splice(0)) off();
    for (const res of this.clients) res.end();
    this.clients.clear();
  }

  private broadcast(event: string, data: unknown): void {
    // Benchmarks run the fake with no page open; they should not pay for serialising events.
    if (this.clients.size > 0) this.write(frame(event, data));
  }

  private write(chunk: string): void {
    for (const res of this.clients) res.write(chunk);
  }
}

function frame(event: string, data: unknown): string {
  // JSON never contains a raw newline, so one data line per event is always well-formed.
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}
