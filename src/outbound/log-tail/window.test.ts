import { DEFAULT_MAX_CHARS, DEFAULT_MAX_LINE_CHARS, LogWindow, truncate } from './window';

const RESTORE = '- tok [20/Nov/2018:12:12:30 +0000] "POST /v1/restore HTTP/1.1" 200 21 0.0023';
const ORDER = '- tok [20/Nov/2018:12:12:31 +0000] "POST /v1/order HTTP/1.1" 200 13 0.7541';
const SUCCESS = 'I, [2018-11-20T12:13:00.939338 #31554] INFO -- : success';
const ERROR = 'E, [2018-11-20T12:14:10.000001 #31554] ERROR -- : pg_restore exited with 1';

function joinedLength(w: LogWindow): number {
  return w.lines().join('\n').length;
}

describe('LogWindow', () => {
  it('keeps the last 20 lines of many and counts all of them', () => {
    const w = new LogWindow();
    for (let batch = 0; batch < 50; batch += 1) {
      w.push(Array.from({ length: 20 }, (_, i) => `line ${batch * 20 + i}`));
    }
    expect(w.totalSeen).toBe(1000);
    expect(w.lines()).toEqual(Array.from({ length: 20 }, (_, i) => `line ${980 + i}`));
  });

  it('cuts a 10,000-character line with an ellipsis', () => {
    const w = new LogWindow();
    w.push(['x'.repeat(10_000)]);
    const [line] = w.lines();
    expect(line).toHaveLength(DEFAULT_MAX_LINE_CHARS);
    expect(line?.endsWith('…')).toBe(true);
    expect(w.totalSeen).toBe(1);
  });

  it('stays under the character budget with many long lines, dropping the oldest', () => {
    const w = new LogWindow();
    w.push(Array.from({ length: 40 }, (_, i) => `${i}:`.padEnd(1000, 'y')));
    expect(joinedLength(w)).toBeLessThanOrEqual(DEFAULT_MAX_CHARS);
    expect(w.lines().at(-1)?.startsWith('39:')).toBe(true);
    expect(w.lines().length).toBeLessThan(20);
  });

  it('honours custom bounds, keeping the newest line even when it alone fills the budget', () => {
    const w = new LogWindow({ maxLines: 3, maxChars: 50, maxLineChars: 500 });
    w.push(['a', 'b', 'c', 'd']);
    expect(w.lines()).toEqual(['b', 'c', 'd']);
    w.push(['z'.repeat(80)]);
    expect(w.lines()).toEqual([`${'z'.repeat(49)}…`]);
  });

  it('redacts every line before cutting it', () => {
    const secret = 's3cr3t-password';
    const w = new LogWindow({ redact: (s) => s.split(secret).join('[REDACTED]'), maxLineChars: 30 });
    w.push([`connecting with ${secret}`, `${'p'.repeat(20)} ${secret} and more text`]);
    expect(w.lines()).toEqual(['connecting with [REDACTED]', `${'p'.repeat(20)} [REDACTE…`]);
    expect(w.lines().join('\n')).not.toContain('s3cr3t');
  });

  it('applies the redaction to the outcome line too, but decides on the raw line', () => {
    const w = new LogWindow({ redact: (s) => s.replace(/success/g, '*') });
    w.push([SUCCESS]);
    expect(w.outcome).toEqual({ outcome: 'success', line: 'I, [2018-11-20T12:13:00.939338 #31554] INFO -- : *' });
  });

  it('splits physical lines holding several records and skips blank lines', () => {
    const w = new LogWindow();
    w.push([`${SUCCESS} ${ORDER}`, '', '   ', `${RESTORE}\r\n`]);
    expect(w.lines()).toEqual([SUCCESS, ORDER, RESTORE]);
    expect(w.totalSeen).toBe(3);
  });

  it('remembers the first outcome only', () => {
    const w = new LogWindow();
    w.push([RESTORE, ORDER]);
    expect(w.outcome).toBeUndefined();
    w.push([ERROR, SUCCESS]);
    expect(w.outcome).toEqual({ outcome: 'failure', line: ERROR });
  });

  it('can ignore outcomes until the restore request is seen', () => {
    const w = new LogWindow({ outcomeAfterRestoreRequest: true });
    w.push([ORDER, SUCCESS]);
    expect(w.outcome).toBeUndefined();
    expect(w.restoreRequestSeen).toBe(false);
    w.push([RESTORE, ORDER, SUCCESS]);
    expect(w.restoreRequestSeen).toBe(true);
    expect(w.outcome).toEqual({ outcome: 'success', line: SUCCESS });
  });

  it('returns a copy of its lines', () => {
    const w = new LogWindow();
    w.push(['a']);
    w.lines().push('b');
    expect(w.lines()).toEqual(['a']);
  });
});

describe('truncate', () => {
  it('never splits a surrogate pair', () => {
    const cut = truncate(`ab${'😀'.repeat(10)}`, 6);
    expect(cut).toBe('ab😀…');
    expect(cut.length).toBeLessThanOrEqual(6);
  });

  it('leaves short lines alone', () => {
    expect(truncate('short', 5)).toBe('short');
  });
});
