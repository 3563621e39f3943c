import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LineCollector } from './__tests__/collector';
import { describeLogSource, openLogSource } from './source';

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

describe('describeLogSource', () => {
  const secrets = ['s3cr3t-pw', 'xoxp-123-leaky', 'hunter2', 'tok-abc'];

  it.each([
    ["BOSH_CLIENT_SECRET=s3cr3t-pw bosh -d a9s-pg ssh pg/0 -c 'sudo tail -F /var/log/x' --token xoxp-123-leaky", 'bosh'],
    ['/usr/local/bin/ssh -o "PasswordAuthentication=hunter2" ops@10.0.0.5 tail -F x', 'ssh'],
    ['curl -s https://admin:hunter2@manager.example/log?token=tok-abc', 'curl'],
    ["sh -c 'PGPASSWORD=hunter2 psql'", 'sh'],
  ])('shows only the program of %s, never what follows it', (command, program) => {
    const shown = describeLogSource({ command }) ?? '';
    expect(shown.startsWith(`${program} …`)).toBe(true);
    for (const s of secrets) expect(shown).not.toContain(s);
    expect(shown).toContain('LOG_TAIL_LABEL');
  });

  it('prefers LOG_TAIL_LABEL, shows a file path, and null without a source', () => {
    expect(describeLogSource({ command: 'bosh --password x', label: 'bosh ssh to pg/0' })).toBe('bosh ssh to pg/0');
    expect(describeLogSource({ file: '/var/vcap/sys/log/backup-agent/production.log' })).toBe('/var/vcap/sys/log/backup-agent/production.log');
    expect(describeLogSource({ label: '  ' })).toBeNull();
  });
});
