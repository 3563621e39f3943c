import { LineSplitter } from './line-splitter';

describe('LineSplitter', () => {
  it('holds a partial line back until its newline', () => {
    const s = new LineSplitter();
    expect(s.push('a\nb')).toEqual(['a']);
    expect(s.push('c\n\nd\n')).toEqual(['bc', '', 'd']);
    expect(s.flush()).toEqual([]);
  });

  it('handles \\r\\n, also when split between chunks', () => {
    const s = new LineSplitter();
    expect(s.push(Buffer.from('one\r\ntwo\r'))).toEqual(['one']);
    expect(s.push(Buffer.from('\nthree\r\n'))).toEqual(['two', 'three']);
  });

  it('keeps a multi-byte character split between chunks intact', () => {
    const s = new LineSplitter();
    const bytes = Buffer.from('grüße\n');
    expect(s.push(bytes.subarray(0, 3))).toEqual([]);
    expect(s.push(bytes.subarray(3))).toEqual(['grüße']);
  });

  it('emits a newline-less stream in bounded pieces', () => {
    const s = new LineSplitter(10);
    expect(s.push('x'.repeat(25))).toEqual(['x'.repeat(10), 'x'.repeat(10)]);
    expect(s.pendingLength).toBe(5);
    expect(s.flush()).toEqual(['xxxxx']);
  });

  it('drops what it holds on reset', () => {
    const s = new LineSplitter();
    s.push('half');
    s.reset();
    expect(s.push('new\n')).toEqual(['new']);
  });
});
