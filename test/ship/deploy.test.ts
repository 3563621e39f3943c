/**
 * deploy/: the Cloud Foundry and Kubernetes manifests start the bot the way the code expects
 * (entry point, health check, state on a volume, one instance), keep secrets out of the
 * files, and carry only settings the bot knows, with values its config accepts.
 */
import { parse, parseAllDocuments } from 'yaml';
import { z } from 'zod';
import { loadConfig } from '../../src/config';
import { configVariables, read } from './project';

const SECRET_VARIABLES = ['SLACK_BOT_TOKEN', 'SLACK_APP_TOKEN', 'SLACK_SIGNING_SECRET', 'BACKUP_MANAGER_PASSWORD'];
/** Set by the platform or the image rather than read by the bot's config. */
const PLATFORM_VARIABLES = ['NODE_ENV'];
const known = new Set([...configVariables().map((v) => v.name), ...PLATFORM_VARIABLES]);
const REAL_TOKEN = /xox[abpr]-[A-Za-z0-9]{4,}|xapp-[A-Za-z0-9-]{6,}/;
const packageMain = (JSON.parse(read('package.json')) as { main: string }).main;

/** What the bot's config makes of `env` once the secrets are supplied (as cf set-env or a Secret would). */
function configWith(env: Record<string, string>, files: Record<string, string> = {}) {
  return loadConfig(
    { SLACK_BOT_TOKEN: 'xoxb-test', SLACK_APP_TOKEN: 'xapp-test', ...env, ...(env.BACKUP_MANAGER_PASSWORD_FILE ? {} : { BACKUP_MANAGER_PASSWORD: 'pw' }) },
    (path) => {
      const content = files[path];
      if (content === undefined) throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
      return content;
    },
  );
}

describe('deploy/cf-manifest.yml', () => {
  const CfManifest = z.object({
    applications: z
      .array(
        z.object({
          name: z.string(),
          instances: z.number(),
          command: z.string(),
          'health-check-type': z.string(),
          'health-check-http-endpoint': z.string(),
          docker: z.object({ image: z.string() }).optional(),
          buildpacks: z.array(z.string()).optional(),
          env: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
        }),
      )
      .length(1),
  });
  const text = read('deploy/cf-manifest.yml');
  const app = CfManifest.parse(parse(text)).applications[0] as z.infer<typeof CfManifest>['applications'][number];
  const env = Object.fromEntries(Object.entries(app.env).map(([k, v]) => [k, String(v)]));

  it('runs node dist/main.js as one instance, health-checked over HTTP on /healthz', () => {
    expect(app.command).toMatch(new RegExp(`^node (?:/app/)?${packageMain.replace('.', '\\.')}$`));
    expect(app.instances).toBe(1);
    expect(app['health-check-type']).toBe('http');
    expect(app['health-check-http-endpoint']).toBe('/healthz');
    expect(app.docker !== undefined || (app.buildpacks ?? []).some((b) => /node/.test(b))).toBe(true);
  });

  it('holds no secret: no secret variable, no token', () => {
    for (const name of SECRET_VARIABLES) expect(Object.keys(env)).not.toContain(name);
    expect(text).not.toMatch(REAL_TOKEN);
  });

  it('sets only variables the bot knows, with values its config accepts', () => {
    expect(Object.keys(env).filter((k) => !known.has(k))).toEqual([]);
    const config = configWith(env);
    expect(config.mode).toBe('production');
    expect(config.stateDb).toMatch(/^\/data\//);
  });
});

describe('deploy/k8s.yaml', () => {
  const EnvVar = z.object({
    name: z.string(),
    value: z.string().optional(),
    valueFrom: z.object({ secretKeyRef: z.object({ name: z.string(), key: z.string(), optional: z.boolean().optional() }) }).optional(),
  });
  const Probe = z.object({ httpGet: z.object({ path: z.string(), port: z.union([z.string(), z.number()]) }) });
  const Container = z.object({
    name: z.string(),
    image: z.string(),
    env: z.array(EnvVar),
    volumeMounts: z.array(z.object({ name: z.string(), mountPath: z.string(), readOnly: z.boolean().optional() })),
    livenessProbe: Probe,
    readinessProbe: Probe.optional(),
    securityContext: z.object({ allowPrivilegeEscalation: z.boolean(), readOnlyRootFilesystem: z.boolean().optional() }),
  });
  const Volume = z.object({
    name: z.string(),
    persistentVolumeClaim: z.object({ claimName: z.string() }).optional(),
    secret: z.object({ secretName: z.string(), items: z.array(z.object({ key: z.string(), path: z.string() })).optional() }).optional(),
    emptyDir: z.object({}).optional(),
  });
  const Deployment = z.object({
    kind: z.literal('Deployment'),
    spec: z.object({
      replicas: z.number(),
      strategy: z.object({ type: z.string() }),
      template: z.object({
        spec: z.object({
          securityContext: z.object({ runAsNonRoot: z.boolean(), runAsUser: z.number(), fsGroup: z.number().optional() }),
          containers: z.array(Container).length(1),
          volumes: z.array(Volume),
        }),
      }),
    }),
  });
  const text = read('deploy/k8s.yaml');
  const docs = parseAllDocuments(text).map((d) => d.toJS() as { kind?: string; metadata?: { name?: string }; data?: unknown; stringData?: unknown });
  const deployment = Deployment.parse(docs.find((d) => d.kind === 'Deployment'));
  const pod = deployment.spec.template.spec;
  const container = pod.containers[0] as z.infer<typeof Container>;
  const envValue = (name: string) => container.env.find((e) => e.name === name);
  const mountOf = (volume: (v: z.infer<typeof Volume>) => boolean) => {
    const names = pod.volumes.filter(volume).map((v) => v.name);
    return container.volumeMounts.find((m) => names.includes(m.name));
  };

  it('has a Deployment, a PersistentVolumeClaim and a Service, and no Secret with values in the file', () => {
    expect(docs.map((d) => d.kind)).toEqual(expect.arrayContaining(['Deployment', 'PersistentVolumeClaim', 'Service']));
    for (const secret of docs.filter((d) => d.kind === 'Secret')) expect({ data: secret.data, stringData: secret.stringData }).toEqual({});
    expect(text).not.toMatch(REAL_TOKEN);
  });

  it('runs one replica, replaced not rolled (one SQLite file, one bot)', () => {
    expect(deployment.spec.replicas).toBe(1);
    expect(deployment.spec.strategy.type).toBe('Recreate');
  });

  it('takes the tokens from a Secret and the manager password as a mounted file', () => {
    for (const name of SECRET_VARIABLES.filter((n) => n !== 'BACKUP_MANAGER_PASSWORD')) {
      const e = envValue(name);
      if (e) expect({ name, value: e.value, fromSecret: e.valueFrom?.secretKeyRef !== undefined }).toEqual({ name, value: undefined, fromSecret: true });
    }
    expect(envValue('SLACK_BOT_TOKEN')?.valueFrom?.secretKeyRef).toBeDefined();
    expect(envValue('BACKUP_MANAGER_PASSWORD')).toBeUndefined();
    const file = envValue('BACKUP_MANAGER_PASSWORD_FILE')?.value ?? '';
    const secretMount = mountOf((v) => v.secret !== undefined);
    expect(secretMount?.readOnly).toBe(true);
    expect(file.startsWith(`${secretMount?.mountPath}/`)).toBe(true);
    const items = pod.volumes.find((v) => v.name === secretMount?.name)?.secret?.items ?? [];
    expect(items.map((i) => i.path)).toContain(file.slice((secretMount?.mountPath.length ?? 0) + 1));
  });

  it('keeps STATE_DB on the claimed volume', () => {
    const claim = docs.find((d) => d.kind === 'PersistentVolumeClaim')?.metadata?.name;
    const dataMount = mountOf((v) => v.persistentVolumeClaim?.claimName === claim);
    expect(dataMount?.mountPath).toBe('/data');
    expect(envValue('STATE_DB')?.value).toMatch(/^\/data\//);
  });

  it('checks liveness on /healthz and does not gate readiness on /readyz', () => {
    expect(container.livenessProbe.httpGet.path).toBe('/healthz');
    expect(container.readinessProbe?.httpGet.path).not.toBe('/readyz');
  });

  it('runs as the image user (node, uid 1000), not root, without privilege escalation', () => {
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(pod.securityContext.runAsUser).toBe(1000);
    expect(container.securityContext.allowPrivilegeEscalation).toBe(false);
  });

  it('sets only variables the bot knows, with values its config accepts', () => {
    expect(container.env.map((e) => e.name).filter((k) => !known.has(k))).toEqual([]);
    const plain = Object.fromEntries(container.env.filter((e) => e.value !== undefined).map((e) => [e.name, e.value as string]));
    const config = configWith(plain, { [plain.BACKUP_MANAGER_PASSWORD_FILE ?? '']: 'pw\n' });
    expect(config.mode).toBe('production');
    expect(config.backupManager?.password).toBe('pw');
  });
});

describe('deploy/k8s-replicas.yaml', () => {
  const text = read('deploy/k8s-replicas.yaml');
  const docs = parseAllDocuments(text).map((d) => d.toJS() as Record<string, unknown>);
  const Env = z.array(z.object({ name: z.string(), value: z.string().optional(), valueFrom: z.object({ secretKeyRef: z.object({ name: z.string(), key: z.string() }) }).optional() }));
  const Deployment = z.object({
    spec: z.object({
      replicas: z.number(),
      strategy: z.object({ type: z.string(), rollingUpdate: z.object({ maxUnavailable: z.number() }) }),
      selector: z.object({ matchLabels: z.record(z.string(), z.string()) }),
      template: z.object({
        spec: z.object({
          containers: z.array(z.object({ env: Env, volumeMounts: z.array(z.object({ name: z.string(), mountPath: z.string() })) })).length(1),
          volumes: z.array(z.object({ name: z.string(), persistentVolumeClaim: z.unknown().optional(), secret: z.object({ items: z.array(z.object({ key: z.string(), path: z.string() })) }).optional() })),
        }),
      }),
    }),
  });
  const Pdb = z.object({ spec: z.object({ minAvailable: z.number(), selector: z.object({ matchLabels: z.record(z.string(), z.string()) }) }) });
  const deployment = Deployment.parse(docs.find((d) => d.kind === 'Deployment'));
  const pdb = Pdb.parse(docs.find((d) => d.kind === 'PodDisruptionBudget'));
  const container = deployment.spec.template.spec.containers[0];
  const env = new Map((container?.env ?? []).map((e) => [e.name, e]));

  it('runs two replicas that are never both down: a rolling update with none unavailable, and a PodDisruptionBudget over the same pods', () => {
    expect(deployment.spec.replicas).toBe(2);
    expect(deployment.spec.strategy).toMatchObject({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0 } });
    expect(pdb.spec.minAvailable).toBe(1);
    expect(pdb.spec.selector.matchLabels).toEqual(deployment.spec.selector.matchLabels);
  });

  it('takes STATE_DB from the Secret and its password as a file, with no volume for state', () => {
    expect(env.get('STATE_DB')?.valueFrom?.secretKeyRef).toEqual({ name: 'pgbackup-bot', key: 'state-db-url' });
    const file = env.get('STATE_DB_PASSWORD_FILE')?.value ?? '';
    const mount = container?.volumeMounts.find((m) => file.startsWith(`${m.mountPath}/`));
    const volume = deployment.spec.template.spec.volumes.find((v) => v.name === mount?.name);
    expect(volume?.secret?.items.map((i) => `${mount?.mountPath}/${i.path}`)).toContain(file);
    expect(deployment.spec.template.spec.volumes.filter((v) => v.persistentVolumeClaim !== undefined)).toEqual([]);
  });

  it('carries only settings the bot knows, and no secret values', () => {
    for (const name of env.keys()) expect(known.has(name)).toBe(true);
    expect(text).not.toMatch(REAL_TOKEN);
    for (const name of SECRET_VARIABLES) expect(env.get(name)?.value).toBeUndefined();
  });
});
