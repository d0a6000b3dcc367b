import autocannon from 'autocannon';
import { exitWithin, killAll, requireBuild, startListening, tenantWithKey, type GatewayProcess } from '../support/gateway-process';
import { startHaproxy, type Haproxy } from '../support/haproxy';
import { call } from '../support/http-call';
import { freePort, startRedis, waitFor, type RedisHandle } from '../support/redis-server';
import { startUpstream, type Upstream } from '../support/upstream';

/**
 * SPEC §11 "behind a load balancer": three replicas on one real redis-server behind a real haproxy
 * that checks /readyz every second, under steady keep-alive load from autocannon. Every replica is
 * restarted in turn (SIGTERM, wait for its exit, start it again on its port, wait until haproxy has it
 * back). With SHUTDOWN_DELAY_MS=3000 the client sees no 5xx, no connection error and no non-2xx.
 */

const ADMIN_TOKEN = 'rolling-admin-token-0123456789abcdef';
const REPLICAS = 3;

let redis: RedisHandle;
let upstream: Upstream;
let haproxy: Haproxy | undefined;

beforeAll(async () => {
  requireBuild();
  redis = await startRedis({ ownServer: true });
  upstream = await startUpstream();
});

afterAll(async () => {
  await haproxy?.stop();
  await killAll();
  await upstream?.close();
  await redis?.stop();
});

it('a rolling restart of every replica under steady load loses no request', async () => {
  const ports = await Promise.all(Array.from({ length: REPLICAS }, () => freePort()));
  const env = { ADMIN_TOKEN, REDIS_URL: redis.url, SHUTDOWN_DELAY_MS: '3000', SHUTDOWN_GRACE_MS: '5000', LOG_LEVEL: 'warn' };
  const replicas: GatewayProcess[] = await Promise.all(ports.map((port) => startListening(env, { port })));
  const key = await tenantWithKey(replicas[0].url, ADMIN_TOKEN, 'rolling', upstream, { rateLimit: { windowSeconds: 1, maxRequests: 1_000_000 } });
  haproxy = await startHaproxy(ports);
  const lb = haproxy;
  const allUp = async () => Object.values(await lb.states()).every((s) => s === 'UP');
  await waitFor(allUp, 10_000, 'haproxy to see every replica up', 200);
  expect((await call(lb.url, '/api/warm', { headers: { 'x-api-key': key } })).status).toBe(200);

  // Steady keep-alive load, paced so the two cores also serve three replicas, haproxy and Redis.
  let finished: (result: autocannon.Result) => void = () => undefined;
  const result = new Promise<autocannon.Result>((resolve) => (finished = resolve));
  const load = autocannon(
    {
      url: `${lb.url}/api/rolling/x`,
      headers: { 'x-api-key': key },
      connections: 8,
      overallRate: 400,
      duration: 80,
      timeout: 10,
    },
    (err, totals) => {
      if (err) throw err;
      finished(totals);
    },
  );

  const restartedAt: number[] = [];
  await new Promise((r) => setTimeout(r, 1000));
  for (let i = 0; i < REPLICAS; i++) {
    const signalledAt = Date.now();
    replicas[i].proc.kill('SIGTERM');
    const exit = await exitWithin(replicas[i], 15_000);
    expect(exit).toMatchObject({ code: 0, signal: null });
    // The delay is honoured: the replica served on while haproxy took it out.
    expect(exit.at - signalledAt).toBeGreaterThanOrEqual(3000);
    replicas[i] = await startListening(env, { port: ports[i] });
    await waitFor(allUp, 10_000, `haproxy to see replica ${i + 1} up again`, 200);
    restartedAt.push(Date.now());
  }
  await new Promise((r) => setTimeout(r, 1000));
  load.stop();
  const totals = await result;

  const summary = {
    requests: totals.requests.total,
    '2xx': totals['2xx'],
    non2xx: totals.non2xx,
    '5xx': totals['5xx'],
    errors: totals.errors,
    timeouts: totals.timeouts,
    resets: totals.resets,
    seconds: totals.duration,
  };
  // The load generator's totals, for the record.
  console.log(`rolling restart of ${REPLICAS} replicas behind haproxy: ${JSON.stringify(summary)}`);
  expect(totals['2xx']).toBeGreaterThan(1000);
  expect({ non2xx: totals.non2xx, '5xx': totals['5xx'], errors: totals.errors, timeouts: totals.timeouts }).toEqual({
    non2xx: 0,
    '5xx': 0,
    errors: 0,
    timeouts: 0,
  });
  expect(restartedAt).toHaveLength(REPLICAS);
}, 120_000);
