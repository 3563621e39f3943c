import { PgCallError } from '../../ports/store/sql/pg-sync';
import { describeStoreProblem, renderInternalError, storeProblem } from './errors';

describe('what is wrong with the state store, in words', () => {
  it('names an SQLite refusal and a PostgreSQL store that does not answer', () => {
    expect(storeProblem(Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' }))).toBe('SQLITE_BUSY');
    expect(storeProblem(new PgCallError('the state database is unreachable', 'UNAVAILABLE'))).toBe('UNAVAILABLE');
    expect(storeProblem(new PgCallError('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED'))).toBe('ECONNREFUSED');
    expect(describeStoreProblem('TIMEOUT')).toMatch(/does not answer/);
  });

  it('does not blame the store for the same network codes from elsewhere, nor for a plain SQL error', () => {
    expect(storeProblem(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toBeUndefined();
    expect(storeProblem(new PgCallError('duplicate key value', '23505'))).toBeUndefined();
  });

  it('tells the person the store does not answer and that nothing was started', () => {
    const said = renderInternalError(new PgCallError('the state database is unreachable', 'UNAVAILABLE'), 'start the backup').text;
    expect(said).toMatch(/state store does not answer \(UNAVAILABLE\), so nothing was recorded or started/);
    expect(said).not.toMatch(/locked or read-only/);
  });
});
