import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Redis } from 'ioredis';
import { Metrics } from '../../src/observability/metrics';
import { startGateway, type TestGateway } from '../support/gateway';
import { canOwnServer, startRedis, waitFor, type RedisHandle } from '../support/redis-server';
import { startUpstream, type Upstream } from '../support/upstream';
import { admin, api, cleanupRedis, createTenantWithKey, expectProblem, send, waitReady, type Reply } from './helpers/e2e-http';

/*
 * SPEC §5.2 end to end: the real app on a real redis-server (two replicas sharing it), a real
 * upstream, and the RateLimit-* headers on every answer after the API-key step.
 */

const RUN = randomBytes(3).toString('hex');
const id = (name: string): string => `rl-${name}-${RUN}`;
/** So long that refill during a test is far below one token. */
const HOUR = 3600;

interface TenantOptions {
  maxRequests: number;
  windowSeconds: number;
  upstreamBaseUrl: string;
  disabled?: boolean;
  maxBodyBytes?: number;
}

function tenantBody(tenantId: string, opts: TenantOptions): Record<string, unknown> {
  return {
    id: tenantId,
    upstreamBaseUrl: opts.upstreamBaseUrl,
    allowedRoutes: [{ path: '/open' }, { path: '/secure', auth: { jwt: true } }],
    auth: { jwt: false },
    idp: { issuer: 'https://issuer.test', jwksUri: 'http://127.0.0.1:9/jwks.json' },
    rateLimit: { windowSeconds: opts.windowSeconds, maxRequests: opts.maxRequests },
    ...(opts.disabled !== undefined && { disabled: opts.disabled }),
    ...(opts.maxBodyBytes !== undefined && { maxBodyBytes: opts.maxBodyBytes }),
  };
}

/** Creates the tenant with one API key through the control plane; returns the key. */
function createTenant(gw: TestGateway, tenantId: string, opts: TenantOptions): Promise<string> {
  return createTenantWithKey(gw, tenantBody(tenantId, opts));
}

/** The three headers as numbers (NaN when absent). */
/**
 * A bucket refills continuously, so the time to full (RateLimit-Reset, whole seconds rounded up) drops
 * by one for each whole second that passed while a burst was answered: under load, `expected` minus
 * the seconds since `startedAt`, at most.
 */
function expectReset(actual: number, expected: number, startedAt: number): void {
  const slackS = Math.ceil((Date.now() - startedAt) / 1000);
  expect({ reset: actual, within: actual >= expected - slackS && actual <= expected }).toEqual({ reset: actual, within: true });
}

function limits(reply: Reply): { limit: number; remaining: number; reset: number } {
  const num = (name: string): number => Number(reply.headers[name] ?? Number.NaN);
  return { limit: num('ratelimit-limit'), remaining: num('ratelimit-remaining'), reset: num('ratelimit-reset') };
}

async function internalErrors(gw: TestGateway): Promise<number> {
  const metric = await gw.app.get(Metrics).internalErrors.get();
  return metric.values.find((v) => v.labels.type === 'rate_limit_store')?.value ?? 0;
}

describe('rate limit on the Redis store, two replicas (SPEC §5.2)', () => {
  let redis: RedisHandle;
  let raw: Redis;
  let upstream: Upstream;
  let gwA: TestGateway;
  let gwB: TestGateway;

  beforeAll(async () => {
    redis = await startRedis();
    raw = redis.client();
    upstream = await startUpstream();
    gwA = await startGateway({ REDIS_URL: redis.url, TENANT_CACHE_TTL_MS: '60000' });
    gwB = await startGateway({ REDIS_URL: redis.url, TENANT_CACHE_TTL_MS: '60000' });
    await Promise.all([waitReady(gwA), waitReady(gwB)]);
  });

  afterAll(async () => {
    await gwA?.close();
    await gwB?.close();
    await upstream?.close();
    if (raw && redis && !redis.canRestart) await cleanupRedis(raw, (tenantId) => tenantId.endsWith(`-${RUN}`));
    await redis?.stop();
  });

  it('admits exactly the capacity of 200 concurrent requests spread over both replicas', async () => {
    const apiKey = await createTenant(gwA, id('burst'), { maxRequests: 50, windowSeconds: HOUR, upstreamBaseUrl: upstream.url });
    const before = upstream.received.length;
    const startedAt = Date.now();
    const replies = await Promise.all(
      Array.from({ length: 200 }, (_, i) => api(i % 2 === 0 ? gwA : gwB, `/open/${i}`, apiKey)),
    );

    const admitted = replies.filter((r) => r.status === 200);
    const refused = replies.filter((r) => r.status === 429);
    expect({ admitted: admitted.length, refused: refused.length }).toEqual({ admitted: 50, refused: 150 });
    expect(upstream.received.length - before).toBe(50);
    // Both replicas admitted some (even indexes went to A): one shared count, not one per process.
    const admittedBy = (parity: number) => replies.filter((r, i) => i % 2 === parity && r.status === 200).length;
    expect(admittedBy(0)).toBeGreaterThan(0);
    expect(admittedBy(1)).toBeGreaterThan(0);

    // Each admitted request saw a different level: 49 down to 0, one token per 72 s to refill.
    const levels = admitted.map(limits).sort((a, b) => a.remaining - b.remaining);
    expect(levels.map((l) => l.remaining)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    for (const level of levels) {
      expect(level).toMatchObject({ limit: 50, remaining: level.remaining });
      expectReset(level.reset, (50 - level.remaining) * 72, startedAt);
    }

    for (const reply of refused) {
      expectProblem(reply, 429, 'rate_limited');
      expect(limits(reply)).toMatchObject({ limit: 50, remaining: 0 });
      expectReset(limits(reply).reset, HOUR, startedAt);
      const retryAfter = Number(reply.headers['retry-after']);
      expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 72).toBe(true);
    }
  });

  it('refills over time: refused, then admitted again within the refill interval', async () => {
    // 2 tokens per second: one every 500 ms.
    const apiKey = await createTenant(gwA, id('refill'), { maxRequests: 2, windowSeconds: 1, upstreamBaseUrl: upstream.url });
    expect((await api(gwA, '/open', apiKey)).status).toBe(200);
    expect((await api(gwB, '/open', apiKey)).status).toBe(200);
    const refused = await api(gwA, '/open', apiKey);
    expectProblem(refused, 429, 'rate_limited');
    expect(refused.headers['retry-after']).toBe('1');
    let last = refused;
    await waitFor(async () => (last = await api(gwB, '/open', apiKey)).status === 200, 3000, 'a refilled token', 50);
    expect(limits(last)).toMatchObject({ limit: 2, remaining: 0, reset: 1 });
  });

  it('reports the level on denials after the API-key step without consuming a token', async () => {
    const apiKey = await createTenant(gwA, id('deny'), {
      maxRequests: 5,
      windowSeconds: HOUR,
      upstreamBaseUrl: upstream.url,
      maxBodyBytes: 16,
    });
    expect(limits(await api(gwA, '/open', apiKey))).toEqual({ limit: 5, remaining: 4, reset: 720 });

    const routeDenied = await api(gwB, '/elsewhere', apiKey);
    expectProblem(routeDenied, 403, 'route_not_allowed');
    expect(limits(routeDenied)).toEqual({ limit: 5, remaining: 4, reset: 720 });

    const jwtDenied = await api(gwA, '/secure', apiKey);
    expectProblem(jwtDenied, 401, 'missing_jwt');
    expect(limits(jwtDenied)).toEqual({ limit: 5, remaining: 4, reset: 720 });

    // Over the body limit by Content-Length: answered after the bucket, so it took a token.
    const tooLarge = await send(gwA.url, 'POST', '/api/open', { headers: { 'X-API-Key': apiKey }, body: 'x'.repeat(64) });
    expectProblem(tooLarge, 413, 'payload_too_large');
    expect(limits(tooLarge)).toEqual({ limit: 5, remaining: 3, reset: 1440 });

    expect(limits(await api(gwB, '/open', apiKey))).toEqual({ limit: 5, remaining: 2, reset: 2160 });
  });

  it('reports the limit of a disabled tenant, and nothing before the API key is known', async () => {
    const apiKey = await createTenant(gwA, id('off'), { maxRequests: 9, windowSeconds: HOUR, upstreamBaseUrl: upstream.url, disabled: true });
    const disabled = await api(gwA, '/open', apiKey);
    expectProblem(disabled, 403, 'tenant_disabled');
    expect(limits(disabled)).toEqual({ limit: 9, remaining: 9, reset: 0 });

    for (const reply of [await api(gwA, '/open', null), await api(gwA, '/open', 'sk_not_a_key_0123456789')]) {
      expect(reply.status).toBe(401);
      expect(reply.headers['ratelimit-limit']).toBeUndefined();
      expect(reply.headers['ratelimit-remaining']).toBeUndefined();
    }
  });

  it("sends the gateway's RateLimit-* headers over an upstream's own", async () => {
    const liar = http.createServer((_req, res) => {
      res.writeHead(200, { 'ratelimit-limit': '1000', 'ratelimit-remaining': '999', 'ratelimit-reset': '1', 'content-type': 'text/plain' });
      res.end('ok');
    });
    await new Promise<void>((resolve) => liar.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(liar.address() as AddressInfo).port}`;
      const apiKey = await createTenant(gwA, id('liar'), { maxRequests: 3, windowSeconds: HOUR, upstreamBaseUrl: url });
      const reply = await api(gwA, '/open', apiKey);
      expect(reply.text).toBe('ok');
      expect(limits(reply)).toEqual({ limit: 3, remaining: 2, reset: 1200 });
    } finally {
      await new Promise((resolve) => liar.close(resolve));
    }
  });

  it('keeps the bucket at gw:{<tenantId>}:bucket and drops it with the tenant', async () => {
    const tenantId = id('layout');
    const apiKey = await createTenant(gwA, tenantId, { maxRequests: 4, windowSeconds: HOUR, upstreamBaseUrl: upstream.url });
    await api(gwA, '/open', apiKey);
    expect(await raw.hget(`gw:{${tenantId}}:bucket`, 'tokens')).toBe('3');
    expect((await admin(gwA, 'DELETE', `/admin/tenants/${tenantId}`)).status).toBe(204);
    await expect(raw.exists(`gw:{${tenantId}}:bucket`)).resolves.toBe(0);
  });
});

describe('rate limit on the embedded store', () => {
  it('admits exactly the capacity of concurrent requests', async () => {
    const upstream = await startUpstream();
    const gw = await startGateway({});
    try {
      const apiKey = await createTenant(gw, id('memory'), { maxRequests: 10, windowSeconds: HOUR, upstreamBaseUrl: upstream.url });
      const startedAt = Date.now();
      const replies = await Promise.all(Array.from({ length: 40 }, (_, i) => api(gw, `/open/${i}`, apiKey)));
      expect(replies.filter((r) => r.status === 200)).toHaveLength(10);
      const refused = replies.filter((r) => r.status === 429);
      expect(refused).toHaveLength(30);
      for (const reply of refused) {
        expect(limits(reply)).toMatchObject({ limit: 10, remaining: 0 });
        expectReset(limits(reply).reset, HOUR, startedAt);
      }
      expect(refused.every((r) => Number(r.headers['retry-after']) >= 1)).toBe(true);
    } finally {
      await gw.close();
      await upstream.close();
    }
  });
});

// Stopping Redis needs a redis-server of our own; a REDIS_URL server is not ours to stop.

(canOwnServer ? describe : describe.skip)('rate limit while Redis is down (RATE_LIMIT_FAILURE_MODE)', () => {
  let upstream: Upstream;
  let redis: RedisHandle | null = null;
  let gw: TestGateway | null = null;

  beforeAll(async () => {
    upstream = await startUpstream();
  });

  afterAll(async () => {
    await upstream?.close();
  });

  afterEach(async () => {
    await gw?.close();
    gw = null;
    await redis?.stop();
    redis = null;
  });

  /** A gateway on a Redis of its own, with one tenant called once (so cached for the outage), then Redis killed. */
  async function outage(mode: 'open' | 'closed'): Promise<{ gw: TestGateway; apiKey: string }> {
    redis = await startRedis({ ownServer: true });
    // A cache TTL longer than the test: requests reach the limiter instead of failing at the key lookup.
    gw = await startGateway({ REDIS_URL: redis.url, TENANT_CACHE_TTL_MS: '600000', RATE_LIMIT_FAILURE_MODE: mode });
    await waitReady(gw);
    const apiKey = await createTenant(gw, id(`outage-${mode}`), { maxRequests: 5, windowSeconds: HOUR, upstreamBaseUrl: upstream.url });
    expect(limits(await api(gw, '/open', apiKey))).toEqual({ limit: 5, remaining: 4, reset: 720 });
    await redis.stop();
    const down = gw;
    await waitFor(async () => (await send(down.url, 'GET', '/readyz')).status === 503, 10_000, 'the gateway to see Redis down', 50);
    return { gw, apiKey };
  }

  it('open: admits, sends only RateLimit-Limit, and counts rate_limit_store errors', async () => {
    const { gw, apiKey } = await outage('open');
    const before = upstream.received.length;
    const errorsBefore = await internalErrors(gw);
    const replies = [await api(gw, '/open/a', apiKey), await api(gw, '/open/b', apiKey)];
    for (const reply of replies) {
      expect(reply.status).toBe(200);
      expect(reply.headers['ratelimit-limit']).toBe('5');
      expect(reply.headers['ratelimit-remaining']).toBeUndefined();
      expect(reply.headers['ratelimit-reset']).toBeUndefined();
    }
    expect(upstream.received.length - before).toBe(2);
    expect((await internalErrors(gw)) - errorsBefore).toBe(2);

    // A denial before the bucket is still answered promptly, with the limit only.
    const denied = await api(gw, '/elsewhere', apiKey);
    expectProblem(denied, 403, 'route_not_allowed');
    expect(denied.headers['ratelimit-limit']).toBe('5');
    expect(denied.headers['ratelimit-remaining']).toBeUndefined();
  });

  it('open: a Redis that refuses the bucket write (maxmemory reached) admits, as when it is down', async () => {
    redis = await startRedis({ ownServer: true });
    gw = await startGateway({ REDIS_URL: redis.url, TENANT_CACHE_TTL_MS: '600000', RATE_LIMIT_FAILURE_MODE: 'open' });
    await waitReady(gw);
    const apiKey = await createTenant(gw, id('oom'), { maxRequests: 5, windowSeconds: HOUR, upstreamBaseUrl: upstream.url });
    expect(limits(await api(gw, '/open', apiKey))).toEqual({ limit: 5, remaining: 4, reset: 720 });
    // Every write now fails with an OOM reply; the connection stays up.
    const raw = redis.client();
    await raw.config('SET', 'maxmemory', '1');
    const before = upstream.received.length;
    const errorsBefore = await internalErrors(gw);
    const reply = await api(gw, '/open', apiKey);
    expect(reply.status).toBe(200);
    expect(reply.headers['ratelimit-limit']).toBe('5');
    expect(reply.headers['ratelimit-remaining']).toBeUndefined();
    expect(upstream.received.length - before).toBe(1);
    expect((await internalErrors(gw)) - errorsBefore).toBe(1);
  });

  it('closed: refuses with 503 state_unavailable and calls no upstream', async () => {
    const { gw, apiKey } = await outage('closed');
    const before = upstream.received.length;
    const errorsBefore = await internalErrors(gw);
    const reply = await api(gw, '/open', apiKey);
    expectProblem(reply, 503, 'state_unavailable');
    expect(reply.headers['ratelimit-limit']).toBe('5');
    expect(reply.headers['retry-after']).toBeUndefined();
    expect(upstream.received.length).toBe(before);
    expect((await internalErrors(gw)) - errorsBefore).toBe(1);
  });

  /** POST /admin/explain of GET /open with the key, which must count no rate_limit_store error (a peek takes no token). */
  async function explainUncounted(gw: TestGateway, apiKey: string): Promise<Reply> {
    const errorsBefore = await internalErrors(gw);
    const explained = await admin(gw, 'POST', '/admin/explain', { apiKey, method: 'GET', path: '/open' });
    expect([explained.status, explained.text]).toEqual([200, explained.text]);
    expect(await internalErrors(gw)).toBe(errorsBefore);
    return explained;
  }

  // SPEC §6.1: explain gives the decision the data plane would take, also while the store cannot answer.
  it('closed: explain answers 503 state_unavailable at the rate_limit step, as the data plane does', async () => {
    const { gw, apiKey } = await outage('closed');
    const explained = await explainUncounted(gw, apiKey);
    expect(explained.json).toMatchObject({ decision: 'deny', status: 503, code: 'state_unavailable' });
    expect(explained.json.steps.at(-1)).toMatchObject({ step: 'rate_limit', ok: false, storeAnswered: false });

    const errorsBefore = await internalErrors(gw);
    expectProblem(await api(gw, '/open', apiKey), 503, 'state_unavailable');
    expect((await internalErrors(gw)) - errorsBefore).toBe(1);
  });

  it('open: explain answers allow with storeAnswered false at the rate_limit step, as the data plane admits', async () => {
    const { gw, apiKey } = await outage('open');
    const explained = await explainUncounted(gw, apiKey);
    expect(explained.json).toMatchObject({ decision: 'allow', status: 200, code: null });
    const steps = explained.json.steps as Record<string, unknown>[];
    expect(steps.find((s) => s.step === 'rate_limit')).toMatchObject({ step: 'rate_limit', ok: true, storeAnswered: false });

    const errorsBefore = await internalErrors(gw);
    expect((await api(gw, '/open', apiKey)).status).toBe(200);
    expect((await internalErrors(gw)) - errorsBefore).toBe(1);
  });
});
