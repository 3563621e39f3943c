import { accessLine, formatAccessTime, formatLoggerTime, loggerLine } from './index';

describe('agent log formats (the seed)', () => {
  it('formats the access-log time like the seed', () => {
    expect(formatAccessTime(new Date('2018-11-20T12:12:30Z'))).toBe('20/Nov/2018:12:12:30 +0000');
    expect(formatAccessTime(new Date('2018-01-02T03:04:05Z'))).toBe('02/Jan/2018:03:04:05 +0000');
  });

  it('formats the Ruby Logger time with microseconds', () => {
    expect(formatLoggerTime(new Date('2018-11-20T12:13:00.939Z'))).toBe('2018-11-20T12:13:00.939000');
  });

  it('writes the seed lines exactly', () => {
    const token = 'oy6Xh45byt4IMhMmlLSV9s_WCdKx9-gT';
    expect(accessLine(token, new Date('2018-11-20T12:12:30Z'), '/v1/restore', 21, 0.0023)).toBe(
      '- oy6Xh45byt4IMhMmlLSV9s_WCdKx9-gT [20/Nov/2018:12:12:30 +0000] "POST /v1/restore HTTP/1.1" 200 21 0.0023',
    );
    expect(accessLine(token, new Date('2018-11-20T12:12:31Z'), '/v1/order', 13, 0.7541)).toBe(
      '- oy6Xh45byt4IMhMmlLSV9s_WCdKx9-gT [20/Nov/2018:12:12:31 +0000] "POST /v1/order HTTP/1.1" 200 13 0.7541',
    );
    expect(loggerLine('INFO', new Date('2018-11-20T12:13:00.939Z'), 31554, 'success')).toBe(
      'I, [2018-11-20T12:13:00.939000 #31554] INFO -- : success',
    );
    expect(loggerLine('ERROR', new Date('2018-11-20T12:13:00.939Z'), 31554, 'pg_restore failed')).toBe(
      'E, [2018-11-20T12:13:00.939000 #31554] ERROR -- : pg_restore failed',
    );
  });
});
