import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { loadConfig } from '../../src/config/config.loader';
import { ENV_VARIABLES } from '../../src/config/env.schema';

/*
 * The deployment files say what the code does: probe paths, ports, variable names, and a grace period
 * that covers the drain. docker-compose.yml, deploy/haproxy, deploy/kubernetes (rendered with
 * `kubectl kustomize` when kubectl is on PATH, else read file by file) and the Dockerfile. No daemon
 * or cluster is needed: only rendering and parsing.
 */

const ROOT = path.join(__dirname, '..', '..');
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');
// Parsed YAML: its shape is what the assertions below check.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Doc = Record<string, any>;

const hasKubectl = spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status === 0;

/** What `kubectl kustomize` renders, or (without kubectl) the base's files with its generated ConfigMap. */
function render(dir: string): Doc[] {
  if (hasKubectl) {
    const out = spawnSync('kubectl', ['kustomize', path.join(ROOT, dir)], { encoding: 'utf8' });
    if (out.status !== 0) throw new Error(`kubectl kustomize ${dir} failed:\n${out.stderr}`);
    return parseAllDocuments(out.stdout).map((d) => d.toJSON() as Doc);
  }
  const kustomization = parse(read(`${dir}/kustomization.yaml`)) as Doc;
  const docs: Doc[] = [];
  for (const resource of kustomization.resources as string[]) {
    if (!resource.endsWith('.yaml')) docs.push(...render(path.join(dir, resource)));
    else docs.push(...parseAllDocuments(read(`${dir}/${resource}`)).map((d) => d.toJSON() as Doc));
  }
  for (const generator of (kustomization.configMapGenerator ?? []) as Doc[]) {
    const data = Object.fromEntries((generator.literals as string[]).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    const existing = docs.find((d) => d.kind === 'ConfigMap' && d.metadata.name === generator.name);
    if (existing) Object.assign(existing.data, data);
    else docs.push({ kind: 'ConfigMap', metadata: { name: generator.name }, data });
  }
  for (const patch of (kustomization.patches ?? []) as Doc[]) applyPatch(docs, dir, patch);
  return docs;
}

/** The two patch forms the overlays use: a JSON 6902 `remove` on a ConfigMap, and extra container env. */
function applyPatch(docs: Doc[], dir: string, patch: Doc): void {
  if (typeof patch.patch === 'string') {
    const target = docs.find((d) => d.kind === patch.target.kind && d.metadata.name === patch.target.name)!;
    for (const op of parse(patch.patch) as Doc[]) {
      const [, section, key] = (op.path as string).split('/');
      if (op.op !== 'remove') throw new Error(`unsupported patch op ${op.op as string}`);
      delete target[section][key];
    }
    return;
  }
  const overlay = parse(read(`${dir}/${patch.path as string}`)) as Doc;
  const target = docs.find((d) => d.kind === overlay.kind && d.metadata.name === overlay.metadata.name)!;
  for (const container of overlay.spec.template.spec.containers as Doc[]) {
    const base = (target.spec.template.spec.containers as Doc[]).find((c) => c.name === container.name)!;
    base.env = [...(container.env as Doc[]), ...((base.env ?? []) as Doc[])];
  }
}

const one = (docs: Doc[], kind: string): Doc => {
  const found = docs.filter((d) => d.kind === kind);
  expect(found).toHaveLength(1);
  return found[0];
};

/** The container's environment as the pod sees it: ConfigMap values, and a stand-in for each Secret reference. */
function podEnv(docs: Doc[], container: Doc): Record<string, string> {
  const env: Record<string, string> = {};
  for (const source of (container.envFrom ?? []) as Doc[]) {
    const map = docs.find((d) => d.kind === 'ConfigMap' && d.metadata.name === source.configMapRef.name);
    expect(map).toBeDefined();
    Object.assign(env, map!.data);
  }
  for (const entry of (container.env ?? []) as Doc[]) {
    env[entry.name as string] = entry.value ?? `secret-stand-in-${'x'.repeat(24)}`;
  }
  return env;
}

/** Every name is one the gateway reads (a typo would be silently ignored), and together they load. */
function expectValidEnv(env: Record<string, string>): ReturnType<typeof loadConfig> {
  for (const name of Object.keys(env)) expect(Object.keys(ENV_VARIABLES)).toContain(name);
  return loadConfig(env);
}

describe.each(['deploy/kubernetes/base', 'deploy/kubernetes/overlays/sentinel'])('%s', (dir) => {
  const docs = render(dir);
  const deployment = one(docs, 'Deployment');
  const pod = deployment.spec.template.spec as Doc;
  const container = pod.containers[0] as Doc;
  const env = podEnv(docs, container);
  const config = expectValidEnv(env);
  const http = (container.ports as Doc[]).find((p) => p.name === 'http')!;

  it('runs 3 replicas on the port the configuration gives, with /readyz readiness and /healthz liveness', () => {
    expect(deployment.spec.replicas).toBe(3);
    expect(http.containerPort).toBe(config.port);
    expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(container.readinessProbe.periodSeconds).toBeLessThanOrEqual(2);
  });

  it('gives a draining pod time to finish: terminationGracePeriodSeconds above SHUTDOWN_DELAY_MS + SHUTDOWN_GRACE_MS', () => {
    expect(config.shutdownDelayMs).toBeGreaterThanOrEqual(2 * container.readinessProbe.periodSeconds * 1000);
    expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThan(config.shutdownDelayMs + config.shutdownGraceMs);
  });

  it('runs as non-root on a read-only root filesystem, with resource requests', () => {
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
    expect(container.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    expect(container.resources.requests).toEqual({ cpu: expect.any(String), memory: expect.any(String) });
  });

  it('takes the admin token and passwords from a Secret, never from a literal', () => {
    const secrets = (container.env as Doc[]).filter((e) => /TOKEN|PASSWORD/.test(e.name as string));
    expect(secrets.map((e) => e.name)).toContain('ADMIN_TOKEN');
    for (const entry of secrets) expect(entry.valueFrom.secretKeyRef.name).toBe('gateway-secrets');
    const configMap = docs.find((d) => d.kind === 'ConfigMap')!;
    expect(Object.keys(configMap.data).filter((name) => /TOKEN|PASSWORD/.test(name))).toEqual([]);
  });

  it('has a Service to the named port, a PodDisruptionBudget and an HPA on the Deployment, all selecting its pods', () => {
    const labels = deployment.spec.template.metadata.labels as Record<string, string>;
    const service = one(docs, 'Service');
    expect(service.spec.ports[0].targetPort).toBe('http');
    const pdb = one(docs, 'PodDisruptionBudget');
    for (const selector of [service.spec.selector, pdb.spec.selector.matchLabels, deployment.spec.selector.matchLabels]) {
      expect(labels).toMatchObject(selector as Record<string, string>);
    }
    expect(pdb.spec.maxUnavailable ?? deployment.spec.replicas - pdb.spec.minAvailable).toBeLessThan(deployment.spec.replicas);
    const hpa = one(docs, 'HorizontalPodAutoscaler');
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: deployment.metadata.name });
    expect(hpa.spec.minReplicas).toBe(deployment.spec.replicas);
  });

  if (dir.endsWith('sentinel')) {
    it('reaches Redis through Sentinel, with no single-server address left', () => {
      expect(config.redis).toMatchObject({ mode: 'sentinel', name: 'mymaster' });
      expect(env.REDIS_URL).toBeUndefined();
      expect(env.REDIS_SENTINEL_PASSWORD).toBeDefined();
    });
  } else {
    it('reaches one Redis server', () => {
      expect(config.redis).toMatchObject({ mode: 'single' });
    });
  }
});

describe('docker-compose.yml', () => {
  const compose = parse(read('docker-compose.yml'), { merge: true }) as Doc;
  const services = compose.services as Record<string, Doc>;
  const gateways = Object.keys(services).filter((name) => name.startsWith('gateway-'));

  it('runs Redis, three gateway replicas, a load balancer and a demo upstream', () => {
    expect(Object.keys(services).sort()).toEqual(['gateway-1', 'gateway-2', 'gateway-3', 'lb', 'redis', 'upstream']);
  });

  it.each(['gateway-1', 'gateway-2', 'gateway-3'])('%s: a valid environment on Redis, draining within stop_grace_period', (name) => {
    const service = services[name];
    const env = { ...(service.environment as Record<string, string>), ADMIN_TOKEN: 'compose-stand-in-0123456789abcdef' };
    const config = expectValidEnv(env);
    expect(config.redis).toMatchObject({ mode: 'single', host: 'redis' });
    expect(config.shutdownDelayMs).toBeGreaterThanOrEqual(2000);
    expect(Number.parseInt(service.stop_grace_period as string, 10) * 1000).toBeGreaterThan(config.shutdownDelayMs + config.shutdownGraceMs);
    expect(service.read_only).toBe(true);
  });

  it('balances over every replica, checking /readyz every second on the port they listen on', () => {
    const mounted = (services.lb.volumes as string[]).find((v) => v.includes('haproxy.cfg'))!;
    const cfg = read(mounted.split(':')[0]);
    expect(cfg).toMatch(/^\s*option httpchk GET \/readyz$/m);
    expect(cfg).toMatch(/^\s*default-server inter 1s\b/m);
    const servers = [...cfg.matchAll(/^\s*server (\S+) (\S+):(\d+) check/gm)].map((m) => [m[1], m[2], Number(m[3])]);
    const portOf = (g: string) => expectValidEnv({ ...(services[g].environment as Record<string, string>), ADMIN_TOKEN: 'compose-stand-in-0123456789abcdef' }).port;
    expect(servers).toEqual(gateways.map((g) => [g, g, portOf(g)]));
  });
});

describe('Dockerfile', () => {
  const text = read('Dockerfile');
  const lines = text.split('\n').filter((l) => l.trim() !== '' && !l.trimStart().startsWith('#'));
  const instructions = (name: string) => lines.filter((l) => l.startsWith(`${name} `)).map((l) => l.slice(name.length + 1));

  it('is multi-stage and runs as the non-root node user', () => {
    expect(instructions('FROM').length).toBeGreaterThanOrEqual(2);
    expect(instructions('USER')).toEqual(['node']);
  });

  it('exposes the port the configuration defaults to, and checks /healthz on it', () => {
    expect(instructions('EXPOSE')).toEqual([String(ENV_VARIABLES.PORT.default)]);
    expect(text).toMatch(/PORT=3000/);
    expect(text).toMatch(/HEALTHCHECK[\s\S]*\/healthz/);
  });

  it('starts node dist/main.js directly (so SIGTERM reaches the gateway), and stops it with SIGTERM', () => {
    expect(instructions('CMD')).toEqual(['["node", "dist/main.js"]']);
    expect(instructions('STOPSIGNAL')).toEqual(['SIGTERM']);
  });
});
