import autocannon from 'autocannon';
import { call } from '../support/http-call';
import { exitWithin, killAll, requireBuild, spawnGateway, startListening, tenantWithKey, type GatewayProcess } from '../support/gateway-process';
import { parseExposition, sumOf } from '../support/prometheus-text';
import { startRedis, waitFor, type RedisHandle } from '../support/redis-server';
import { startUpstream, type Upstream } from '../support/upstream';

/**
 * SPEC §11 workers: `WORKERS=2 node dist/main.js` on one real redis-server. The primary forks two
 * workers sharing the port; each new connection goes to one of them. One gateway serves the whole
 * file (starting two workers takes seconds), and the tests run in order: rate limit, metrics, a
 * killed worker, then SIGTERM.
 */

const ADMIN_TOKEN = 'workers-admin-token-0123456789abcdef';
const admin = { 'x-admin-token': ADMIN_TOKEN };

let redis: RedisHandle;
let upstream: Upstream;
let gateway: GatewayProcess;

/** The worker ids that wrote a request line for a path starting with `prefix`. */
function workersServing(prefix: string): Set<unknown> {
  return new Set(
    gateway
      .logs()
      .filter((l) => l.category === 'request' && typeof l.path === 'string' && l.path.startsWith(prefix))
      .map((l) => l.worker),
  );
}

/** Live worker ids and pids, from the primary's lines. */
function workerPids(): Map<number, number> {
  const pids = new Map<number, number>();
  for (const line of gateway.logs()) {
    if (line.msg === 'worker started') pids.set(line.worker as number, line.pid as number);
    if (line.msg === 'worker exited: restarting it') pids.delete(line.worker as number);
  }
  return pids;
}

async function scrape(): Promise<ReturnType<typeof parseExposition>> {
  const reply = await call(gateway.url, '/metrics', { headers: admin });
  expect(reply.status).toBe(200);
  return parseExposition(reply.text);
}

beforeAll(async () => {
  requireBuild();
  redis = await startRedis({ ownServer: true });
  upstream = await startUpstream();
  gateway = await startListening({ ADMIN_TOKEN, REDIS_URL: redis.url, WORKERS: '2', SHUTDOWN_GRACE_MS: '5000' });
  await waitFor(() => gateway.logs().some((l) => l.msg === 'all workers listening'), 20_000, 'both workers listening');
}, 60_000);

afterAll(async () => {
  await killAll();
  await upstream?.close();
  await redis?.stop();
});

describe('WORKERS=2 (SPEC §11)', () => {
  it('starts two workers, each logging with its worker id', async () => {
    expect(workerPids().size).toBe(2);
    const startedBy = () => new Set(gateway.logs().filter((l) => l.msg === 'gateway started').map((l) => l.worker));
    // A worker's own lines reach the shared stdout on their own schedule, not in step with the primary's.
    await waitFor(() => startedBy().size >= 2, 5000, "both workers' start lines").catch(() => undefined);
    expect(startedBy().size).toBe(2);
  });

  it('keeps the rate limit exact across workers: a full bucket of C admits exactly C of N > C concurrent requests', async () => {
    const capacity = 20;
    const key = await tenantWithKey(gateway.url, ADMIN_TOKEN, 'exact', upstream, { rateLimit: { windowSeconds: 3600, maxRequests: capacity } });
    const replies = await Promise.all(
      Array.from({ length: 3 * capacity }, (_, i) => call(gateway.url, `/api/exact/${i}`, { headers: { 'x-api-key': key } })),
    );
    const statuses = replies.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(capacity);
    expect(statuses.filter((s) => s === 429)).toHaveLength(2 * capacity);
    // Both workers answered some of them: the limit held across processes, not inside one.
    await waitFor(() => workersServing('/api/exact/').size === 2, 2000, 'request lines from both workers');
  });

  it('propagates an admin change to every worker through pub/sub, well within the cache TTL', async () => {
    const body = (prefix: string) => ({ id: 'spread', upstreamBaseUrl: `${upstream.url}/${prefix}`, allowedRoutes: [{ path: '/' }] });
    const key = await tenantWithKey(gateway.url, ADMIN_TOKEN, 'spread', upstream);
    // Both workers cache the tenant (default TTL 5 s): new connections alternate between them.
    for (let i = 0; i < 6; i++) expect((await call(gateway.url, `/api/spread/warm-${i}`, { headers: { 'x-api-key': key } })).json?.url).toBe(`/spread/spread/warm-${i}`);
    await waitFor(() => workersServing('/api/spread/warm-').size === 2, 2000, 'both workers to have served the tenant');

    expect((await call(gateway.url, '/admin/tenants/spread', { method: 'PUT', headers: admin, body: body('moved') })).status).toBe(200);
    const changedAt = Date.now();
    // Several requests in a row see the change, whichever worker takes each one.
    let seen = 0;
    await waitFor(
      async () => {
        const url = (await call(gateway.url, '/api/spread/after', { headers: { 'x-api-key': key } })).json?.url;
        seen = url === '/moved/spread/after' ? seen + 1 : 0;
        return seen >= 6;
      },
      1500,
      'every worker to serve the change',
      10,
    );
    expect(Date.now() - changedAt).toBeLessThan(1500);
    expect(workersServing('/api/spread/after').size).toBe(2);
  });

  it('/metrics on any worker reports the sum over both; process metrics carry a worker label', async () => {
    const key = await tenantWithKey(gateway.url, ADMIN_TOKEN, 'sums', upstream);
    const sent = 30;
    for (let i = 0; i < sent; i++) expect((await call(gateway.url, `/api/sums/${i}`, { headers: { 'x-api-key': key } })).status).toBe(200);
    await waitFor(() => workersServing('/api/sums/').size === 2, 2000, 'request lines from both workers');
    // Several scrapes, each answered by whichever worker took the connection: all the same sums.
    for (let i = 0; i < 4; i++) {
      const samples = await scrape();
      expect(sumOf(samples, 'gateway_requests_total', { tenantId: 'sums', status: '200' })).toBe(sent);
      expect(sumOf(samples, 'gateway_latency_ms_count', { tenantId: 'sums', status: '200' })).toBe(sent);
      expect(sumOf(samples, 'gateway_rate_limited_total', { tenantId: 'exact' })).toBe(40);
      expect(sumOf(samples, 'gateway_worker_restarts_total', {})).toBe(0);
      const workers = samples.filter((s) => s.name === 'process_resident_memory_bytes').map((s) => s.labels.worker);
      expect(workers.sort()).toEqual([...workerPids().keys()].map(String).sort());
    }
  });

  it('replaces a killed worker, with a log line and a restart counted, while the other keeps serving', async () => {
    const key = await tenantWithKey(gateway.url, ADMIN_TOKEN, 'survive', upstream, { rateLimit: { windowSeconds: 1, maxRequests: 100_000 } });
    const [[victim, pid]] = [...workerPids()];
    process.kill(pid, 'SIGKILL');
    // A connection handed to the worker in the instant it died dies with it (as with any crashed process);
    // from the moment the primary has seen the exit, every new connection goes to the live worker.
    await waitFor(() => gateway.logs().some((l) => l.msg === 'worker exited: restarting it' && l.worker === victim), 5000, 'the restart line');
    // Served throughout the restart (a worker takes seconds to start): each request on a new connection.
    const statuses: (number | string)[] = [];
    const until = Date.now() + 2500;
    while (Date.now() < until) {
      const reply = call(gateway.url, '/api/survive/x', { headers: { 'x-api-key': key }, timeoutMs: 2000 });
      statuses.push(await reply.then((r) => r.status, (e: Error) => e.message));
    }
    expect(statuses.length).toBeGreaterThan(10);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);

    const line = gateway.logs().find((l) => l.msg === 'worker exited: restarting it')!;
    expect(line).toMatchObject({ level: 'warn', category: 'system', pid, signal: 'SIGKILL' });
    expect(line.restartInMs).toBeGreaterThan(0);
    await waitFor(() => workerPids().size === 2 && !workerPids().has(victim), 5000, 'a new worker');
    const newcomer = Math.max(...workerPids().keys());
    await waitFor(() => gateway.logs().some((l) => l.msg === 'gateway started' && l.worker === newcomer), 20_000, 'the new worker listening');

    const samples = await scrape();
    expect(sumOf(samples, 'gateway_worker_restarts_total', {})).toBe(1);
    expect(samples.filter((s) => s.name === 'process_resident_memory_bytes').map((s) => Number(s.labels.worker))).not.toContain(victim);
    expect(gateway.exit).toBeNull();
  }, 40_000);

  it('keeps every log line whole while both workers write to the one stdout under load', async () => {
    const key = await tenantWithKey(gateway.url, ADMIN_TOKEN, 'burst', upstream, { rateLimit: { windowSeconds: 1, maxRequests: 1_000_000 } });
    const totals = await autocannon({ url: `${gateway.url}/api/burst/x`, headers: { 'x-api-key': key }, connections: 32, duration: 2 });
    expect(totals['2xx']).toBeGreaterThan(500);
    await waitFor(() => gateway.logs().filter((l) => l.path === '/api/burst/x').length >= totals['2xx'], 3000, 'every request line');
    expect(workersServing('/api/burst/').size).toBe(2);
    const broken = gateway
      .stdout()
      .split('\n')
      .filter((line) => line !== '')
      .filter((line) => {
        try {
          return typeof JSON.parse(line) !== 'object';
        } catch {
          return true;
        }
      });
    expect(broken).toEqual([]);
  });

  it('SIGTERM drains every worker: in-flight requests on both complete, then the primary exits 0', async () => {
    const key = await tenantWithKey(gateway.url, ADMIN_TOKEN, 'drain', upstream);
    const slow = Array.from({ length: 4 }, (_, i) => call(gateway.url, `/api/slow/${1500 + i}`, { headers: { 'x-api-key': key } }));
    await waitFor(() => upstream.received.filter((r) => r.url.startsWith('/drain/slow/')).length === 4, 5000, 'the slow requests upstream');
    const live = [...workerPids().keys()];
    const signalledAt = Date.now();
    gateway.proc.kill('SIGTERM');
    const replies = await Promise.all(slow);
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    const exit = await exitWithin(gateway, 10_000);
    expect(exit).toMatchObject({ code: 0, signal: null });
    expect(exit.at - signalledAt).toBeLessThan(5000);
    // The slow requests were spread over both workers, and each of them stopped by itself.
    expect(workersServing('/api/slow/').size).toBe(2);
    const stopped = gateway.logs().filter((l) => l.msg === 'gateway stopped');
    expect(stopped.map((l) => l.worker).filter((w) => w !== undefined).sort()).toEqual(live.sort());
    expect(stopped.some((l) => l.worker === undefined)).toBe(true);
    expect(gateway.stderr()).toBe('');
  }, 30_000);
});

describe('WORKERS with the embedded store', () => {
  it('WORKERS=2 without Redis stops the process with a message naming WORKERS', async () => {
    const child = await spawnGateway({ ADMIN_TOKEN, WORKERS: '2' });
    const exit = await exitWithin(child, 15_000);
    expect(exit.code).toBe(1);
    const fatal = child.logs().filter((l) => l.level === 'fatal');
    expect(fatal).toHaveLength(1);
    expect(fatal[0].msg).toContain('WORKERS');
    expect(fatal[0].problems).toEqual([{ variable: 'WORKERS', message: expect.stringContaining('embedded') as string }]);
  });
});
