import { parseAgentLine, recordTime } from './parse';
import { LogWindow } from './window';

describe('recordTime', () => {
  it('reads the seed lines: access-log time with its zone, logger time as UTC', () => {
    expect(recordTime(parseAgentLine('- oy6Xh45byt4IMhMmlLSV9s_WCdKx9-gT [20/Nov/2018:12:12:30 +0000] "POST /v1/restore HTTP/1.1" 200 21 0.0023'))).toBe(
      Date.UTC(2018, 10, 20, 12, 12, 30),
    );
    expect(recordTime(parseAgentLine('- t [20/Nov/2018:13:12:30 +0100] "POST /v1/order HTTP/1.1" 200 13 0.7541'))).toBe(Date.UTC(2018, 10, 20, 12, 12, 30));
    expect(recordTime(parseAgentLine('I, [2018-11-20T12:13:00.939338 #31554]  INFO -- : success'))).toBe(Date.UTC(2018, 10, 20, 12, 13, 0, 939));
    expect(recordTime(parseAgentLine('plain text'))).toBeUndefined();
  });
});

describe('LogWindow notBefore', () => {
  const oldRestore = [
    '- a [20/Nov/2018:12:12:30 +0000] "POST /v1/restore HTTP/1.1" 200 21 0.0023',
    'I, [2018-11-20T12:13:00.939338 #31554]  INFO -- : success',
  ];

  it('never lets an earlier restore decide, as a tail -F would print it first', () => {
    const w = new LogWindow({ outcomeAfterRestoreRequest: true, notBefore: Date.UTC(2018, 10, 21) });
    w.push(oldRestore);
    expect(w.outcome).toBeUndefined();
    expect(w.lines()).toHaveLength(2);
    w.push(['- b [21/Nov/2018:08:00:00 +0000] "POST /v1/restore HTTP/1.1" 200 21 0.0023', 'E, [2018-11-21T08:01:00.000000 #1] ERROR -- : pg_restore failed']);
    expect(w.outcome?.outcome).toBe('failure');
  });

  it('decides on records at or after notBefore', () => {
    const w = new LogWindow({ outcomeAfterRestoreRequest: true, notBefore: Date.UTC(2018, 10, 20, 12) });
    w.push(oldRestore);
    expect(w.outcome?.outcome).toBe('success');
  });
});
