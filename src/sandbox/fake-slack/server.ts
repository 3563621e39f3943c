import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sendJson } from '../http-util';
import { createFakeSlack, type FakeSlack, type FakeSlackOptions } from './fake-slack';

export interface StartedFakeSlack extends FakeSlack {
  close(): Promise<void>;
}

/** The fake on its own loopback server, for tests that point SLACK_API_URL at it. */
export async function startFakeSlack(options: FakeSlackOptions & { port?: number; host?: string } = {}): Promise<StartedFakeSlack> {
  const fake = createFakeSlack(options);
  const server = createServer((req, res) => {
    if (!fake.handle(req, res)) sendJson(res, 404, { ok: false, error: 'not_found' });
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  fake.setUrl(`http://${host}:${port}/`);

  const close = (): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      server.close((error) => (error ? reject(error) : resolve()));
      // Keep-alive sockets of the Web API client would otherwise hold close() open.
      server.closeAllConnections();
    });
  // Assigned onto the fake rather than spread, which would freeze the url getters' values.
  return Object.assign(fake, { close });
}
