import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { seedDemoHistory } from './demo';
import { A9S_PG } from './model';
import { SIM_APIS, startSimulator } from './server';

/** `npm run simulator`: a fake Backup Manager for the local sandbox and manual trials. */

const DEFAULT_PASSWORD = 'secret';

const optional = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

const wholeNumber = (fallback: number, max = Number.MAX_SAFE_INTEGER) =>
  optional.transform((v, ctx) => {
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0 || n > max) {
      ctx.addIssue({ code: 'custom', message: `must be a whole number from 0 to ${max}` });
      return z.NEVER;
    }
    return n;
  });

const EnvSchema = z.object({
  SIM_PORT: wholeNumber(3001, 65535),
  SIM_HOST: optional.transform((v) => v ?? '127.0.0.1'),
  SIM_PASSWORD: optional.transform((v) => v ?? DEFAULT_PASSWORD),
  SIM_INSTANCES: optional.transform((v) =>
    (v ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0 && s !== A9S_PG),
  ),
  SIM_AGENT_LOG: optional.transform((v) => v ?? join(tmpdir(), 'pgbackup-sim', 'production.log')),
  SIM_STEP_MS: wholeNumber(2000),
  SIM_RESTORE_STEPS: wholeNumber(3).refine((n) => n >= 1, { message: 'must be at least 1' }),
  SIM_RESTORE_OUTAGE: optional.pipe(z.enum(['refuse', '503']).optional()).transform((v) => v ?? 'refuse'),
  SIM_SCHEDULE_EVERY_MS: wholeNumber(0),
  SIM_FAILURE_RATE: optional.transform((v, ctx) => {
    const n = Number(v ?? '0');
    if (!(n >= 0 && n <= 1)) {
      ctx.addIssue({ code: 'custom', message: 'must be a number from 0 to 1' });
      return z.NEVER;
    }
    return n;
  }),
  SIM_API: optional.pipe(z.enum(SIM_APIS).optional()).transform((v) => v ?? 'both'),
  SIM_SEED_HISTORY: optional.pipe(z.enum(['0', '1', 'true', 'false']).optional()).transform((v) => v !== '0' && v !== 'false'),
});

async function main(): Promise<void> {
  const parsed = EnvSchema.safeParse(process.env);
  if (!parsed.success) {
    // Names and rules only: values (the password among them) are never echoed.
    const problems = parsed.error.issues.map((i) => `  - ${String(i.path[0] ?? 'environment')} ${i.message}`);
    console.error(`Invalid simulator configuration:\n${problems.join('\n')}`);
    process.exitCode = 2;
    return;
  }
  const env = parsed.data;
  const sim = await startSimulator({
    port: env.SIM_PORT,
    host: env.SIM_HOST,
    password: env.SIM_PASSWORD,
    instances: env.SIM_INSTANCES,
    agentLogPath: env.SIM_AGENT_LOG,
    stepMs: env.SIM_STEP_MS,
    restoreSteps: env.SIM_RESTORE_STEPS,
    restoreOutage: env.SIM_RESTORE_OUTAGE,
    scheduleEveryMs: env.SIM_SCHEDULE_EVERY_MS,
    failureRate: env.SIM_FAILURE_RATE,
    api: env.SIM_API,
  });
  sim.events.on('error', (err) => console.error(`simulator: ${err.message}`));
  if (env.SIM_SEED_HISTORY) seedDemoHistory(sim, [A9S_PG, ...env.SIM_INSTANCES]);

  const password = env.SIM_PASSWORD === DEFAULT_PASSWORD ? `password "${DEFAULT_PASSWORD}" (default)` : 'password from SIM_PASSWORD';
  // eslint-disable-next-line no-console
  console.log(`Backup Manager simulator on ${sim.url} (${env.SIM_API} API, user admin, ${password}), backup-agent log ${env.SIM_AGENT_LOG}`);

  let stopping = false;
  const stop = (): void => {
    if (stopping) process.exit(1);
    stopping = true;
    sim.close().then(
      () => undefined,
      (err: unknown) => {
        console.error(`simulator: ${err instanceof Error ? err.message : String(err)}`);
        process.exitCode = 1;
      },
    );
  };
  // A second signal forces the exit, should closing hang.
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err: unknown) => {
  console.error(`simulator: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
