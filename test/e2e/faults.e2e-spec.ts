import { readFileSync } from 'node:fs';
import { startDelayProxy, startSilentUpstream, type DelayProxy, type SilentUpstream } from '../support/fault-servers';
import { call } from '../support/http-call';
import { killAll, requireBuild, startListening, tenantWithKey, type GatewayProcess } from '../support/gateway-process';
import { sleep, startRedis, waitFor, type RedisHandle } from '../support/redis-server';
import { startUpstream, type Upstream } from '../support/upstream';

/**
 * Faults beyond a clean kill (SPEC §10/§11), against the built gateway as a process under steady
 * traffic: a Redis that stalls (SIGSTOP), a Redis that answers slowly (a TCP proxy delaying every
 * chunk), and an upstream that accepts and never answers. In each: every request is answered in
 * bounded time, the process neither crashes nor grows without bound, and it recovers when the fault
 * ends.
 */

const ADMIN_TOKEN = 'faults-admin-token-0123456789abcdef';
const UPSTREAM_TIMEOUT_MS = 1500;
/** Store budget (1 s per command, a few per request) well inside the upstream timeout. */
const ANSWER_WITHIN_MS = UPSTREAM_TIMEOUT_MS + 1000;
const RELAXED = { rateLimit: { windowSeconds: 1, maxRequests: 100_000 } };

let upstream: Upstream;
let redis: RedisHandle;

beforeAll(async () => {
  requireBuild();
  upstream = await startUpstream();
});

afterEach(killAll);

afterAll(async () => {
  await upstream.close();
  await redis?.stop();
});

function rssMb(gw: GatewayProcess): number {
  const status = readFileSync(`/proc/${gw.proc.pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

interface Outcome {
  status: number | string;
  ms: number;
}

/** `clients` parallel loops of requests on new connections for `ms`; every outcome, failures included. */
async function steady(gw: GatewayProcess, path: string, headers: Record<string, string>, ms: number, clients = 4): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  const until = Date.now() + ms;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (Date.now() < until) {
        const started = Date.now();
        outcomes.push(
          await call(gw.url, path, { headers, timeoutMs: ANSWER_WITHIN_MS + 2000 }).then(
            (r) => ({ status: r.status, ms: Date.now() - started }),
            (err: NodeJS.ErrnoException) => ({ status: err.code ?? err.message, ms: Date.now() - started }),
          ),
        );
      }
    }),
  );
  return outcomes;
}

function expectBounded(outcomes: Outcome[], allowed: number[]): void {
  expect(outcomes.length).toBeGreaterThan(4);
  expect(outcomes.filter((o) => !allowed.includes(o.status as number))).toEqual([]);
  expect(Math.max(...outcomes.map((o) => o.ms))).toBeLessThan(ANSWER_WITHIN_MS);
}

it('a Redis that stalls (SIGSTOP): answers within the store budget, nothing hangs, recovery after SIGCONT', async () => {
  redis = await startRedis({ ownServer: true });
  const gw = await startListening({ ADMIN_TOKEN, REDIS_URL: redis.url, UPSTREAM_TIMEOUT_MS: String(UPSTREAM_TIMEOUT_MS), TENANT_CACHE_TTL_MS: '300', LOG_LEVEL: 'warn' });
  const cached = await tenantWithKey(gw.url, ADMIN_TOKEN, 'stall-a', upstream, RELAXED);
  const uncached = await tenantWithKey(gw.url, ADMIN_TOKEN, 'stall-b', upstream, RELAXED);
  expect((await call(gw.url, '/api/warm', { headers: { 'x-api-key': cached } })).status).toBe(200);
  const pid = Number(/process_id:(\d+)/.exec(await redis.client().info('server'))?.[1]);
  expect(pid).toBeGreaterThan(0);
  const rssBefore = rssMb(gw);

  process.kill(pid, 'SIGSTOP');
  let during: Outcome[][];
  try {
    during = await Promise.all([
      steady(gw, '/api/stalled', { 'x-api-key': cached }, 3000, 2),
      steady(gw, '/api/stalled', { 'x-api-key': uncached }, 3000, 2),
    ]);
  } finally {
    process.kill(pid, 'SIGCONT');
  }
  // The cached tenant is served; the other one gets 503 state_unavailable; nothing waits past the budget.
  expectBounded(during[0], [200, 503]);
  expectBounded(during[1], [200, 503]);
  expect(during[0].some((o) => o.status === 200)).toBe(true);
  expect(during[1].some((o) => o.status === 503)).toBe(true);
  expect(gw.exit).toBeNull();
  expect(rssMb(gw) - rssBefore).toBeLessThan(64);

  await waitFor(async () => (await call(gw.url, '/readyz')).status === 200, 10_000, 'ready again', 100);
  expectBounded(await steady(gw, '/api/after', { 'x-api-key': uncached }, 500, 2), [200]);
  await redis.stop();
}, 40_000);

it('a Redis that answers slowly (every chunk delayed 400 ms): answers in bounded time, recovery when it is fast again', async () => {
  redis = await startRedis({ ownServer: true });
  let proxy: DelayProxy | undefined;
  try {
    proxy = await startDelayProxy(redis.port);
    const gw = await startListening({
      ADMIN_TOKEN,
      REDIS_URL: `redis://127.0.0.1:${proxy.port}`,
      UPSTREAM_TIMEOUT_MS: String(UPSTREAM_TIMEOUT_MS),
      TENANT_CACHE_TTL_MS: '300',
      LOG_LEVEL: 'warn',
    });
    const key = await tenantWithKey(gw.url, ADMIN_TOKEN, 'slow-redis', upstream, RELAXED);
    expect((await call(gw.url, '/api/warm', { headers: { 'x-api-key': key } })).status).toBe(200);
    const rssBefore = rssMb(gw);

    proxy.delayMs = 400;
    const during = await steady(gw, '/api/slowly', { 'x-api-key': key }, 3000);
    // Slower than the bucket budget (250 ms): the failure mode (open) admits; a lookup past its TTL may be served stale.
    expectBounded(during, [200, 503]);
    expect(gw.exit).toBeNull();
    expect(rssMb(gw) - rssBefore).toBeLessThan(64);

    proxy.delayMs = 0;
    await waitFor(async () => (await call(gw.url, '/readyz')).status === 200, 10_000, 'ready again', 100);
    const after = await steady(gw, '/api/fast-again', { 'x-api-key': key }, 500, 2);
    expectBounded(after, [200]);
    // The limiter counts again: a tiny bucket refuses past its size.
    const tight = await tenantWithKey(gw.url, ADMIN_TOKEN, 'slow-redis-tight', upstream, { rateLimit: { windowSeconds: 3600, maxRequests: 2 } });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await call(gw.url, '/api/t', { headers: { 'x-api-key': tight } })).status);
    expect(statuses).toEqual([200, 200, 429, 429]);
  } finally {
    await proxy?.close();
    await redis.stop();
  }
}, 40_000);

it('an upstream that accepts and never answers: 504 after UPSTREAM_TIMEOUT_MS, its connections released, recovery when it answers', async () => {
  let silent: SilentUpstream | undefined;
  try {
    silent = await startSilentUpstream();
    const gw = await startListening({ ADMIN_TOKEN, UPSTREAM_TIMEOUT_MS: String(UPSTREAM_TIMEOUT_MS), LOG_LEVEL: 'warn' });
    const headers = { 'x-admin-token': ADMIN_TOKEN };
    const created = await call(gw.url, '/admin/tenants', {
      method: 'POST',
      headers,
      body: { id: 'silent', upstreamBaseUrl: silent.url, allowedRoutes: [{ path: '/' }], ...RELAXED },
    });
    expect(created.status).toBe(201);
    const key = (await call(gw.url, '/admin/tenants/silent/keys', { method: 'POST', headers, body: {} })).json!.apiKey as string;
    const rssBefore = rssMb(gw);

    const during = await steady(gw, '/api/never', { 'x-api-key': key }, 4000, 8);
    expectBounded(during, [504]);
    expect(Math.min(...during.map((o) => o.ms))).toBeGreaterThanOrEqual(UPSTREAM_TIMEOUT_MS - 50);
    expect(gw.exit).toBeNull();
    expect(rssMb(gw) - rssBefore).toBeLessThan(64);
    // Every timed-out request's upstream connection was closed by the gateway.
    await waitFor(() => silent!.open() === 0, 3000, 'the upstream connections to be released', 50);

    silent.heal();
    await sleep(50);
    expectBounded(await steady(gw, '/api/healed', { 'x-api-key': key }, 500, 2), [200]);
  } finally {
    await silent?.close();
  }
}, 30_000);
