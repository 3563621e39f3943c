import { until } from '../../../../test/helpers/bot-process';
import { startTcpProxyThread, type TcpProxyThread } from '../../../../test/helpers/tcp-proxy';
import { freshDatabase, testPostgres } from '../../../../test/pg/postgres';
import { PG_PROBE_INTERVAL_MS, PgSyncConnection } from './pg-sync';

/** The error code a call ends with, or 'answered'. */
function outcomeOf(call: () => unknown): string | undefined {
  try {
    call();
    return 'answered';
  } catch (err) {
    return (err as { code?: string }).code;
  }
}

describe('PgSyncConnection: a database that stops answering', () => {
  let proxy: TcpProxyThread | undefined;
  let connection: PgSyncConnection | undefined;

  afterEach(async () => {
    connection?.close();
    await proxy?.close();
  });

  it('after one call ran into its deadline, the next ones fail at once (no second wait) until a background connect succeeds', async () => {
    const { port } = testPostgres();
    const url = await freshDatabase('sync');
    proxy = await startTcpProxyThread(port);
    let now = 0;
    connection = new PgSyncConnection({ connectionString: url.replace(`:${port}/`, `:${proxy.port}/`), callTimeoutMs: 300, clock: () => now });
    const conn = connection;
    expect(conn.query('SELECT 1 AS one').rows).toEqual([{ one: 1 }]);

    await proxy.freeze();
    expect(outcomeOf(() => conn.query('SELECT 2'))).toBe('TIMEOUT');
    // Unavailable, not a timeout: these calls did not wait for a deadline of their own.
    expect(outcomeOf(() => conn.query('SELECT 3'))).toBe('UNAVAILABLE');
    now += PG_PROBE_INTERVAL_MS;
    expect(outcomeOf(() => conn.query('SELECT 3'))).toBe('UNAVAILABLE');

    await proxy.thaw();
    // Each try after a probe interval starts another background connect; one gets through.
    const rows = await until('a background connect got through', () => {
      now += PG_PROBE_INTERVAL_MS;
      try {
        return conn.query('SELECT 4 AS four').rows;
      } catch (err) {
        if ((err as { code?: string }).code !== 'UNAVAILABLE') throw err;
        return undefined;
      }
    });
    expect(rows).toEqual([{ four: 4 }]);
    expect(outcomeOf(() => conn.query('SELECT 5'))).toBe('answered');
  });

  it('a refused connection is not taken for a silent database: each call tries again at once', async () => {
    const { port } = testPostgres();
    const url = await freshDatabase('sync');
    proxy = await startTcpProxyThread(port);
    connection = new PgSyncConnection({ connectionString: url.replace(`:${port}/`, `:${proxy.port}/`), callTimeoutMs: 2000 });
    const conn = connection;
    expect(outcomeOf(() => conn.query('SELECT 1'))).toBe('answered');
    // The server ends every session (a restart): the next call fails, the one after reconnects.
    await proxy.cut();
    const first = outcomeOf(() => conn.query('SELECT 2'));
    expect(first).not.toBe('TIMEOUT');
    expect(first).not.toBe('UNAVAILABLE');
    expect(outcomeOf(() => conn.query('SELECT 3'))).toBe('answered');
  });
});
