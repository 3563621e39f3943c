import { Writable } from 'node:stream';
import { boundedDestination } from './log-destination';

/** A stdout whose reader stopped: nothing it is given is ever written until `release()`. */
function stalledOut() {
  const pending: Array<() => void> = [];
  const written: string[] = [];
  const out = new Writable({
    highWaterMark: 1024,
    write(chunk: Buffer, _enc, done) {
      pending.push(() => {
        written.push(chunk.toString());
        done();
      });
    },
  });
  const release = () => {
    // Each callback lets the stream hand over the next chunk; bounded by what was queued.
    for (let i = 0; i < 100_000 && pending.length > 0; i++) pending.shift()?.();
  };
  return { out, written, release };
}

describe('boundedDestination', () => {
  const line = `${JSON.stringify({ level: 10, msg: 'x'.repeat(180) })}\n`;

  it('keeps at most the cap queued for a reader that stopped, and counts what it dropped', () => {
    const { out } = stalledOut();
    const dest = boundedDestination(out, 64 * 1024);
    for (let i = 0; i < 10_000; i++) dest.write(line);
    expect(out.writableLength).toBeLessThanOrEqual(64 * 1024);
    const kept = Math.floor((64 * 1024) / Buffer.byteLength(line));
    expect(dest.dropped()).toBe(10_000 - kept);
  });

  it('says how many lines were dropped once the reader is back', async () => {
    const { out, written, release } = stalledOut();
    const dest = boundedDestination(out, 4 * 1024);
    for (let i = 0; i < 100; i++) dest.write(line);
    const dropped = dest.dropped();
    expect(dropped).toBeGreaterThan(0);
    const flushed = dest.flush(5_000);
    release();
    await flushed;
    dest.write(line);
    release();
    const notice = written.find((w) => w.includes('log lines dropped'));
    expect(JSON.parse(notice ?? '{}')).toMatchObject({ dropped, component: 'logger' });
    expect(written.at(-1)).toBe(line);
  });

  it('flush is bounded when the reader never comes back, and an output error stops logging without a crash', async () => {
    const { out } = stalledOut();
    const dest = boundedDestination(out, 64 * 1024);
    dest.write(line);
    const started = process.hrtime.bigint();
    await dest.flush(50);
    expect(Number(process.hrtime.bigint() - started) / 1e6).toBeLessThan(2_000);
    out.emit('error', Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
    dest.write(line);
    expect(dest.dropped()).toBe(1);
    await expect(dest.flush(10_000)).resolves.toBeUndefined();
  });
});
