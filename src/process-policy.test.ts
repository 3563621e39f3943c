import { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import { createLogger } from './logger';
import { installCrashPolicy } from './process-policy';

describe('installCrashPolicy', () => {
  it('logs an unhandled rejection and an uncaught exception with context, never the objects they carry', () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'info', destination: new Writable({ write: (c: Buffer, _e, done) => (lines.push(c.toString()), done()) }) });
    const proc = new EventEmitter();
    installCrashPolicy(proc, logger);
    const withRequest = Object.assign(new TypeError("Cannot read properties of null (reading 'type')"), { req: { headers: { cookie: 'session=secret-cookie' } } });
    expect(proc.emit('unhandledRejection', withRequest, Promise.resolve())).toBe(true);
    expect(proc.emit('uncaughtException', new Error('boom in a timer'), 'uncaughtException')).toBe(true);
    expect(lines).toHaveLength(2);
    const [rejection, exception] = lines.map((l) => JSON.parse(l) as { msg: string; err: { type: string; message: string } });
    expect(rejection?.msg).toMatch(/unhandled rejection/);
    expect(rejection?.err).toMatchObject({ type: 'TypeError', message: "Cannot read properties of null (reading 'type')" });
    expect(exception?.err.message).toBe('boom in a timer');
    expect(lines.join('')).not.toContain('secret-cookie');
  });
});
