import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { call } from '../support/http-call';
import { killAll, REPO, requireBuild, startListening, tenantWithKey, type GatewayProcess } from '../support/gateway-process';
import { freePort, startRedis, waitFor, type RedisHandle } from '../support/redis-server';
import { startUpstream, type Upstream } from '../support/upstream';

/**
 * A real Prometheus server (Debian's `prometheus`, installed by .ci/run) scrapes two gateway replicas
 * on one redis-server with the scrape-only METRICS_TOKEN as a bearer token, as the scrape config in
 * docs/observability.md says. Through Prometheus's own HTTP query API: both
 * targets are up, the sum of gateway_requests_total over them is the number of /api requests sent,
 * and a job holding a wrong token sees its target down with 401.
 */

const ADMIN_TOKEN = 'prom-admin-token-0123456789abcdef';
const METRICS_TOKEN = 'prom-scrape-token-0123456789abcdef';
const hasPrometheus = spawnSync('prometheus', ['--version']).status === 0;

/**
 * The scrape config of docs/observability.md, read from the page, with this run's token file and
 * targets in place of the page's; a second job with a wrong token is appended.
 */
function scrapeConfig(dir: string, targets: string[], wrongTarget: string): string {
  writeFileSync(join(dir, 'gateway-metrics-token'), METRICS_TOKEN);
  const page = readFileSync(join(REPO, 'docs/observability.md'), 'utf8');
  const documented = /^```yaml\n(scrape_configs:\n[\s\S]*?)^```$/m.exec(page)?.[1];
  if (documented === undefined) throw new Error('docs/observability.md has no scrape_configs block');
  const config = documented
    .replace('credentials_file: /etc/prometheus/gateway-metrics-token', `credentials_file: ${join(dir, 'gateway-metrics-token')}`)
    .replace("targets: ['gateway-1:3000', 'gateway-2:3000']", `targets: [${targets.map((t) => `'${t}'`).join(', ')}]`);
  if (!config.includes(dir) || !config.includes(targets[0])) throw new Error(`the documented scrape config changed shape:\n${documented}`);
  return `global:
  scrape_interval: 1s
  scrape_timeout: 1s
${config}  - job_name: wrong-token
    authorization:
      type: Bearer
      credentials: not-the-scrape-token-0123456789
    static_configs:
      - targets: ['${wrongTarget}']
`;
}

interface Target {
  labels: { job: string; instance: string };
  health: string;
  lastError: string;
}

// Without the binary there is no server to test against; .ci/run installs it, so CI always runs this.
const describeWithPrometheus = hasPrometheus ? describe : describe.skip;

describeWithPrometheus('a real Prometheus scraping two replicas with METRICS_TOKEN', () => {
  let redis: RedisHandle;
  let upstream: Upstream;
  let replicas: GatewayProcess[];
  let prometheus: ChildProcess | undefined;
  let promUrl: string;
  let dir: string;
  let promOutput = '';

  beforeAll(async () => {
    requireBuild();
    dir = mkdtempSync(join(tmpdir(), 'gw-prometheus-'));
    redis = await startRedis({ ownServer: true });
    upstream = await startUpstream();
    const env = { ADMIN_TOKEN, METRICS_TOKEN, REDIS_URL: redis.url };
    replicas = await Promise.all([startListening(env), startListening(env)]);
    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    const targets = replicas.map((r) => `127.0.0.1:${r.port}`);
    writeFileSync(join(dir, 'prometheus.yml'), scrapeConfig(dir, targets, targets[0]));
    prometheus = spawn(
      'prometheus',
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    prometheus.stdout?.setEncoding('utf8').on('data', (c: string) => (promOutput += c));
    prometheus.stderr?.setEncoding('utf8').on('data', (c: string) => (promOutput += c));
    await waitFor(
      async () => {
        if (prometheus?.exitCode !== null) throw new Error(`prometheus exited:\n${promOutput}`);
        return call(promUrl, '/-/ready', { timeoutMs: 1000 }).then(
          (r) => r.status === 200,
          () => false,
        );
      },
      20_000,
      'prometheus to be ready',
      100,
    );
  }, 60_000);

  afterAll(async () => {
    if (prometheus && prometheus.exitCode === null) {
      const exited = new Promise((done) => prometheus!.once('close', done));
      prometheus.kill('SIGTERM');
      const timer = setTimeout(() => prometheus!.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    await killAll();
    await upstream?.close();
    await redis?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function targets(): Promise<Target[]> {
    const reply = await call(promUrl, '/api/v1/targets?state=active');
    return (reply.json as { data: { activeTargets: Target[] } }).data.activeTargets;
  }

  async function query(promql: string): Promise<number | null> {
    const reply = await call(promUrl, `/api/v1/query?query=${encodeURIComponent(promql)}`);
    const result = (reply.json as { data: { result: { value: [number, string] }[] } }).data.result;
    return result.length === 0 ? null : Number(result[0].value[1]);
  }

  it('sees both replicas up, and a wrong token down with 401', async () => {
    await waitFor(
      async () => (await targets()).filter((t) => t.labels.job === 'secure-api-gateway' && t.health === 'up').length === 2,
      15_000,
      'both gateway targets up',
      200,
    );
    await waitFor(async () => (await targets()).some((t) => t.labels.job === 'wrong-token' && t.health === 'down'), 15_000, 'the wrong-token target down', 200);
    const wrong = (await targets()).find((t) => t.labels.job === 'wrong-token')!;
    expect(wrong.lastError).toMatch(/401/);
  });

  it('sums gateway_requests_total over both replicas to the requests sent', async () => {
    const apiKey = await tenantWithKey(replicas[0].url, ADMIN_TOKEN, 'scraped', upstream);
    const sent = { perReplica: 7 };
    for (const replica of replicas) {
      for (let i = 0; i < sent.perReplica; i++) {
        expect((await call(replica.url, `/api/scraped/${i}`, { headers: { 'x-api-key': apiKey } })).status).toBe(200);
      }
    }
    // Plus one refusal on the second replica: counted too, under its own status.
    expect((await call(replicas[1].url, '/api/scraped/x')).status).toBe(401);
    const expected = 2 * sent.perReplica + 1;
    let seen: number | null = null;
    await waitFor(
      async () => {
        seen = await query('sum(gateway_requests_total{job="secure-api-gateway"})');
        return seen === expected;
      },
      15_000,
      `sum(gateway_requests_total) to reach ${expected}`,
      250,
    ).catch((err: Error) => {
      throw new Error(`${err.message}; last value ${seen}`);
    });
    expect(await query('sum(gateway_requests_total{job="secure-api-gateway",tenantId="scraped",status="200"})')).toBe(2 * sent.perReplica);
    expect(await query('count(up{job="secure-api-gateway"} == 1)')).toBe(2);
  });
});
