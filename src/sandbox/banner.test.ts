import { displayWidth, sandboxBanner } from './banner';

describe('sandbox banner', () => {
  it.each(['http://localhost:3000/', 'http://localhost:65535/', `http://sandbox.internal.example:3000/${'x'.repeat(40)}/`])(
    'draws every line of the box at the same width, borders in line (%s)',
    (url) => {
      const lines = sandboxBanner(url);
      expect(lines).toHaveLength(5);
      const widths = lines.map(displayWidth);
      expect(new Set(widths).size).toBe(1);
      // The right border is the last column of every line.
      expect(lines.map((l) => Array.from(l).at(-1))).toEqual(['┐', '│', '│', '│', '┘']);
      expect(lines.join('\n')).toContain(url);
    },
  );

  it('counts columns, not UTF-16 units', () => {
    expect(displayWidth('— │┐')).toBe(4);
    expect(displayWidth('𝔸')).toBe(1);
  });
});
