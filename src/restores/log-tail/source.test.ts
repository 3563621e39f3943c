import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LineCollector } from './__tests__/collector';
import { openLogSource } from './source';

jest.setTimeout(10_000);

describe('openLogSource', () => {
  it('returns undefined when neither file nor command is configured', () => {
    const onLines = jest.fn();
    expect(openLogSource({}, { onLines })).toBeUndefined();
    expect(openLogSource({ file: '  ', command: '' }, { onLines })).toBeUndefined();
    expect(onLines).not.toHaveBeenCalled();
  });

  it('follows a file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'log-tail-source-'));
    try {
      const file = join(dir, 'production.log');
      writeFileSync(file, 'existing\n');
      const c = new LineCollector();
      const source = openLogSource({ file }, { onLines: c.onLines, initialLines: 1, pollMs: 50 });
      expect(source?.kind).toBe('file');
      await c.untilIncludes('existing');
      await source?.stop();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('runs a command', async () => {
    const c = new LineCollector();
    const source = openLogSource({ command: "echo from-command; exec sleep 30" }, { onLines: c.onLines });
    expect(source?.kind).toBe('command');
    await c.untilIncludes('from-command');
    await source?.stop();
  });

  it('prefers the file when both are given', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'log-tail-source-'));
    try {
      const source = openLogSource({ file: join(dir, 'x.log'), command: 'exit 1' }, { onLines: jest.fn(), pollMs: 50 });
      expect(source?.kind).toBe('file');
      await source?.stop();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
