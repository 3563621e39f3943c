import { toPgSql } from './pg-db';

describe('toPgSql', () => {
  it('numbers positional parameters in order', () => {
    expect(toPgSql('SELECT * FROM t WHERE a = ? AND b = ?')).toEqual({ text: 'SELECT * FROM t WHERE a = $1 AND b = $2', order: [0, 1] });
  });

  it('gives a named parameter one number however often it is used', () => {
    expect(toPgSql('UPDATE t SET a = @at, b = COALESCE(@x, b) WHERE c = @at')).toEqual({ text: 'UPDATE t SET a = $1, b = COALESCE($2, b) WHERE c = $1', order: ['at', 'x'] });
  });

  it("leaves ? and @ inside string literals alone, '' included", () => {
    expect(toPgSql("SELECT 'a?b', 'it''s @x' FROM t WHERE k = ? AND s = 'running'")).toEqual({
      text: "SELECT 'a?b', 'it''s @x' FROM t WHERE k = $1 AND s = 'running'",
      order: [0],
    });
  });
});
