import { isRestoreRequest, outcomeOf, parseAgentLine, parseAgentLines, splitRecords } from './parse';

// Exactly as in the spec (one record per line) ...
const SPEC_SAMPLE = [
  '- oy6Xh45byt4IMhMmlLSV9s_WCdKx9-gT [20/Nov/2018:12:12:30 +0000] "POST /v1/restore HTTP/1.1" 200 21 0.0023',
  '- oy6Xh45byt4IMhMmlLSV9s_WCdKx9-gT [20/Nov/2018:12:12:31 +0000] "POST /v1/order HTTP/1.1" 200 13 0.7541',
  'I, [2018-11-20T12:13:00.939338 #31554] INFO -- : success',
];
// ... and as in the seed document, where records run together on two physical lines.
const SEED_LINE_1 =
  '- oy6Xh45byt4IMhMmlLSV9s_WCdKx9-gT [20/Nov/2018:12:12:30 +0000] "POST /v1/restore HTTP/1.1" 200 21 0.0023 - oy6Xh45byt4IMhMmlLSV9s_WCdKx9-gT [20/Nov/2018:12:12:31 +0000] "POST /v1/order HTTP/1.1" 200 13 0.7541 - oy6Xh45byt4IMhMmlLSV9s_WCdKx9-gT [20/Nov/2018:12:12:45 +0000] "POST /v1/order HTTP/1.1" 200 19 0.6944';
const SEED_LINE_2 =
  'I, [2018-11-20T12:13:00.939338 #31554] INFO -- : success - oy6Xh45byt4IMhMmlLSV9s_WCdKx9-gT [20/Nov/2018:12:13:02 +0000] "POST /v1/order HTTP/1.1" 200 13 0.7154';

describe('parseAgentLine', () => {
  it('parses the access-log lines of the sample', () => {
    expect(parseAgentLine(SPEC_SAMPLE[0] ?? '')).toEqual({
      kind: 'access',
      raw: SPEC_SAMPLE[0],
      client: 'oy6Xh45byt4IMhMmlLSV9s_WCdKx9-gT',
      time: '20/Nov/2018:12:12:30 +0000',
      method: 'POST',
      path: '/v1/restore',
      status: 200,
      bytes: 21,
      durationSeconds: 0.0023,
    });
    expect(parseAgentLine(SPEC_SAMPLE[1] ?? '')).toMatchObject({ kind: 'access', method: 'POST', path: '/v1/order', status: 200 });
  });

  it('parses the logger line of the sample', () => {
    expect(parseAgentLine(SPEC_SAMPLE[2] ?? '')).toEqual({
      kind: 'logger',
      raw: SPEC_SAMPLE[2],
      severity: 'I',
      level: 'INFO',
      time: '2018-11-20T12:13:00.939338',
      pid: 31554,
      progname: '',
      message: 'success',
    });
  });

  it("parses Ruby's padded level, a progname and a message with colons", () => {
    const line = 'W, [2018-11-20T12:14:00.000001 #7]  WARN -- agent: disk: 91% used';
    expect(parseAgentLine(line)).toMatchObject({ kind: 'logger', severity: 'W', level: 'WARN', progname: 'agent', message: 'disk: 91% used' });
  });

  it('parses an error response and a dash for the size', () => {
    const line = '- tok [20/Nov/2018:12:12:30 +0000] "GET /v1/status?id=3 HTTP/1.1" 503 - 0.1000';
    expect(parseAgentLine(line)).toMatchObject({ kind: 'access', method: 'GET', path: '/v1/status?id=3', status: 503, bytes: undefined });
  });

  it('keeps anything else as text, without its line ending', () => {
    expect(parseAgentLine('  from /var/vcap/packages/agent/lib/restore.rb:42\r\n')).toEqual({
      kind: 'text',
      raw: '  from /var/vcap/packages/agent/lib/restore.rb:42',
    });
    expect(parseAgentLine('')).toEqual({ kind: 'text', raw: '' });
    expect(parseAgentLine('X, [2018-11-20T12:13:00 #1] INFO -- : success').kind).toBe('text');
  });
});

describe('splitRecords / parseAgentLines', () => {
  it('splits the seed physical lines into their records', () => {
    const first = parseAgentLines(SEED_LINE_1);
    expect(first.map((r) => r.kind)).toEqual(['access', 'access', 'access']);
    expect(first.map((r) => (r.kind === 'access' ? `${r.path} ${r.status} ${r.bytes}` : ''))).toEqual([
      '/v1/restore 200 21',
      '/v1/order 200 13',
      '/v1/order 200 19',
    ]);
    const second = parseAgentLines(SEED_LINE_2);
    expect(second.map((r) => r.kind)).toEqual(['logger', 'access']);
    expect(second[0]).toMatchObject({ message: 'success', level: 'INFO' });
    expect(second[1]).toMatchObject({ time: '20/Nov/2018:12:13:02 +0000', path: '/v1/order' });
  });

  it('leaves one-record lines and ordinary text alone', () => {
    for (const line of SPEC_SAMPLE) expect(splitRecords(line)).toEqual([line]);
    const text = 'copied 3 files - 2 skipped [see above]';
    expect(splitRecords(text)).toEqual([text]);
  });
});

describe('outcomeOf', () => {
  it('finds success in the sample, on its own line and inside the seed physical line', () => {
    expect(outcomeOf(SPEC_SAMPLE[2] ?? '')).toBe('success');
    expect(outcomeOf(SEED_LINE_2)).toBe('success');
    expect(outcomeOf(parseAgentLine(SPEC_SAMPLE[2] ?? ''))).toBe('success');
  });

  it('sees no outcome in access lines, text or other INFO messages', () => {
    expect(outcomeOf(SPEC_SAMPLE[0] ?? '')).toBeUndefined();
    expect(outcomeOf(SEED_LINE_1)).toBeUndefined();
    expect(outcomeOf('I, [2018-11-20T12:13:00.939338 #31554] INFO -- : restore started')).toBeUndefined();
    expect(outcomeOf('I, [2018-11-20T12:13:00.939338 #31554] INFO -- : not a success')).toBeUndefined();
    expect(outcomeOf('success')).toBeUndefined();
    expect(outcomeOf('W, [2018-11-20T12:13:00.939338 #31554] WARN -- : success')).toBeUndefined();
  });

  it('reports ERROR and FATAL lines as failure', () => {
    expect(outcomeOf('E, [2018-11-20T12:14:10.000001 #31554] ERROR -- : pg_restore exited with 1')).toBe('failure');
    expect(outcomeOf('F, [2018-11-20T12:14:10.000001 #31554] FATAL -- agent: cannot reach blob store')).toBe('failure');
    expect(outcomeOf('E, [2018-11-20T12:14:10.000001 #31554] ERROR -- : ')).toBe('failure');
  });

  it('takes the first outcome of a line with several records', () => {
    const line =
      'E, [2018-11-20T12:14:10.000001 #31554] ERROR -- : boom I, [2018-11-20T12:14:11.000001 #31554] INFO -- : success';
    expect(outcomeOf(line)).toBe('failure');
  });
});

describe('isRestoreRequest', () => {
  it('matches POST /v1/restore only', () => {
    expect(isRestoreRequest(parseAgentLine(SPEC_SAMPLE[0] ?? ''))).toBe(true);
    expect(isRestoreRequest(parseAgentLine(SPEC_SAMPLE[1] ?? ''))).toBe(false);
    expect(isRestoreRequest(parseAgentLine(SPEC_SAMPLE[2] ?? ''))).toBe(false);
  });
});
