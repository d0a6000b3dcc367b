import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { startGateway, type TestGateway } from '../support/gateway';
import { canOwnServer, startRedis, type RedisHandle } from '../support/redis-server';
import { startUpstream, type Upstream } from '../support/upstream';
import { api, sha256Hex, waitReady, type Reply } from './helpers/e2e-http';

/**
 * The tenant caches under concurrent load, counted on a real redis-server with INFO commandstats: N
 * requests for one API key that all miss the cache at once (cold, or stale past TENANT_CACHE_TTL_MS)
 * send one key lookup (GET + PTTL of `tenant:byApiKey:<sha256>`) and one tenant load (GET `tenant:<id>`)
 * between them, not one each. Tenants and keys are written straight into Redis (SPEC §4), so no
 * invalidation message can arrive in the middle and legitimately cause a second read.
 */

const RUN = randomBytes(3).toString('hex');
const id = (name: string): string => `sf-${name}-${RUN}`;
const CONCURRENT = 30;
/** Short enough to wait out once; the stale case waits this plus a margin before its burst. */
const SHORT_TTL_MS = 2000;
/**
 * Redis holds every command for this long (CLIENT PAUSE ALL) while the burst is sent, so that all its
 * requests are waiting on the store together however slowly this machine sends them: without
 * single-flight each would then make its own read. Well under the gateway's 1 s command timeout.
 */
const PAUSE_MS = 300;

// INFO commandstats counts every client of the server: it has to be a server of our own.

(canOwnServer ? describe : describe.skip)('tenant cache: concurrent misses share one store read', () => {
  let redis: RedisHandle;
  let raw: Redis;
  let upstream: Upstream;
  /** Caches for a minute: nothing goes stale during a test. */
  let cold: TestGateway;
  /** Caches for SHORT_TTL_MS: for the stale case. */
  let short: TestGateway;

  beforeAll(async () => {
    redis = await startRedis({ ownServer: true });
    raw = redis.client();
    upstream = await startUpstream();
    cold = await startGateway({ REDIS_URL: redis.url, TENANT_CACHE_TTL_MS: '60000' });
    short = await startGateway({ REDIS_URL: redis.url, TENANT_CACHE_TTL_MS: String(SHORT_TTL_MS) });
    await Promise.all([waitReady(cold), waitReady(short)]);
  });

  afterAll(async () => {
    await cold?.close();
    await short?.close();
    await upstream?.close();
    await redis?.stop();
  });

  /** A tenant and one API key for it, written by hand as an operator would. */
  async function handWrittenTenant(tenantId: string): Promise<string> {
    const tenant = {
      id: tenantId,
      upstreamBaseUrl: `${upstream.url}/svc/${tenantId}`,
      allowedRoutes: [{ path: '/' }],
      rateLimit: { windowSeconds: 1, maxRequests: 1_000_000 },
    };
    const apiKey = `sgw_${randomBytes(24).toString('base64url')}`;
    await raw.set(`tenant:${tenantId}`, JSON.stringify(tenant));
    await raw.set(`tenant:byApiKey:${sha256Hex(apiKey)}`, tenantId);
    return apiKey;
  }

  /** GET and PTTL calls the server ran during `burst` (the counters are reset first). */
  async function storeReadsDuring(burst: () => Promise<Reply[]>): Promise<{ replies: Reply[]; get: number; pttl: number }> {
    await raw.config('RESETSTAT');
    await raw.call('CLIENT', 'PAUSE', String(PAUSE_MS), 'ALL');
    const replies = await burst();
    const stats = await raw.info('commandstats');
    const calls = (command: string): number => Number(new RegExp(`^cmdstat_${command}:calls=(\\d+)`, 'm').exec(stats)?.[1] ?? 0);
    return { replies, get: calls('get'), pttl: calls('pttl') };
  }

  const burstOf = (gw: TestGateway, apiKey: string): (() => Promise<Reply[]>) => () =>
    Promise.all(Array.from({ length: CONCURRENT }, () => api(gw, '/x', apiKey)));

  it(`${CONCURRENT} concurrent requests with a key nobody has cached: one key lookup and one tenant load`, async () => {
    const tenantId = id('cold');
    const apiKey = await handWrittenTenant(tenantId);

    const { replies, get, pttl } = await storeReadsDuring(burstOf(cold, apiKey));

    expect(replies.map((r) => r.status)).toEqual(Array(CONCURRENT).fill(200));
    expect(replies.every((r) => r.json?.url === `/svc/${tenantId}/x`)).toBe(true);
    // One GET of the key mapping with its PTTL, one GET of the tenant.
    expect({ get, pttl }).toEqual({ get: 2, pttl: 1 });
  });

  it(`${CONCURRENT} concurrent requests with an unknown key: one key lookup`, async () => {
    const apiKey = `sgw_${randomBytes(24).toString('base64url')}`;

    const { replies, get, pttl } = await storeReadsDuring(burstOf(cold, apiKey));

    expect(replies.map((r) => `${r.status} ${r.json?.code}`)).toEqual(Array(CONCURRENT).fill('401 invalid_api_key'));
    expect({ get, pttl }).toEqual({ get: 1, pttl: 1 });
  });

  it(`${CONCURRENT} concurrent requests once the cached entries are stale: one refresh of each`, async () => {
    const tenantId = id('stale');
    const apiKey = await handWrittenTenant(tenantId);
    expect((await api(short, '/x', apiKey)).status).toBe(200);
    await new Promise((r) => setTimeout(r, SHORT_TTL_MS + 100));

    const { replies, get, pttl } = await storeReadsDuring(burstOf(short, apiKey));

    expect(replies.map((r) => r.status)).toEqual(Array(CONCURRENT).fill(200));
    expect({ get, pttl }).toEqual({ get: 2, pttl: 1 });
  });
});
