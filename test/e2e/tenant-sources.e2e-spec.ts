import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { ConfigError } from '../../src/config/config.loader';
import { startGateway, type TestGateway } from '../support/gateway';
import { startRedis, waitFor, type RedisHandle } from '../support/redis-server';
import { specExampleTenant } from '../support/fixtures';
import { startUpstream, type Upstream } from '../support/upstream';
import { admin, api, cleanupRedis, dumpRedis, expectProblem, sha256Hex, waitReady } from './helpers/e2e-http';

/**
 * Where tenants come from, end to end: written by hand into Redis in the SPEC §4 layout (served,
 * listed, validated, cached for TENANT_CACHE_TTL_MS), and from TENANTS_FILE with the embedded
 * store or upserted into Redis at start. Ids carry a per-run suffix so a shared REDIS_URL is safe.
 */

const RUN = randomBytes(3).toString('hex');
const id = (name: string): string => `${name}-${RUN}`;
const newKey = (label: string): string => `sgw_${label}_${randomBytes(16).toString('hex')}`;

let upstream: Upstream;
let dir: string;

beforeAll(async () => {
  upstream = await startUpstream();
  dir = mkdtempSync(join(tmpdir(), 'gw-tenant-sources-'));
});

afterAll(async () => {
  await upstream?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function writeTenantsFile(name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  return path;
}

/** Sends a request and returns the path the upstream saw, failing on anything but a proxied 200. */
async function upstreamPathOf(gw: TestGateway, path: string, apiKey: string): Promise<string> {
  const reply = await api(gw, path, apiKey);
  expect([reply.status, reply.text.slice(0, 300)]).toEqual([200, reply.text.slice(0, 300)]);
  return reply.json.url as string;
}

describe('tenants written by hand into Redis (SPEC §4 layout)', () => {
  let redis: RedisHandle;
  let raw: Redis;
  /** TENANT_CACHE_TTL_MS=200: hand-written changes show within a fraction of a second. */
  let fast: TestGateway;
  /** TENANT_CACHE_TTL_MS=60000: hand-written changes do not show while cached. */
  let slow: TestGateway;

  const ACME = id('acme');
  const ACME_KEY = newKey('acme');
  /** The SPEC §3 example, pointed at the echo upstream. */
  const acme = () => specExampleTenant({ id: ACME, upstreamBaseUrl: `${upstream.url}/base` });

  beforeAll(async () => {
    redis = await startRedis();
    raw = redis.client();
    fast = await startGateway({ REDIS_URL: redis.url, TENANT_CACHE_TTL_MS: '200' });
    slow = await startGateway({ REDIS_URL: redis.url, TENANT_CACHE_TTL_MS: '60000' });
    await waitReady(fast);
    await waitReady(slow);
    await raw.set(`tenant:${ACME}`, JSON.stringify(acme()));
    await raw.set(`tenant:byApiKey:${sha256Hex(ACME_KEY)}`, ACME);
  });

  afterAll(async () => {
    await fast?.close();
    await slow?.close();
    if (raw && redis && !redis.canRestart) await cleanupRedis(raw, (tenantId) => tenantId.endsWith(`-${RUN}`));
    await redis?.stop();
  });

  it('serves them on /api/* with their routes and policy', async () => {
    for (const gw of [fast, slow]) {
      const reply = await api(gw, '/v1/products/42?color=red', ACME_KEY);
      expect([reply.status, reply.text.slice(0, 300)]).toEqual([200, reply.text.slice(0, 300)]);
      expect(reply.json.url).toBe('/base/v1/products/42?color=red');
      expect(reply.json.headers['x-tenant-id']).toBe(ACME);
      expect(await upstreamPathOf(gw, '/v2/admin', ACME_KEY)).toBe('/base/v2/admin');
      // The hand-written allowlist and JWT rule are enforced like those written through the API.
      expectProblem(await api(gw, '/v3/other', ACME_KEY), 403, 'route_not_allowed');
      expectProblem(await api(gw, '/v1/users', ACME_KEY), 401, 'missing_jwt');
      expectProblem(await api(gw, '/v1/products', newKey('unknown')), 401, 'invalid_api_key');
    }
  });

  it('lists them with GET /admin/tenants and GET /admin/tenants/:id', async () => {
    const listing = await admin(fast, 'GET', '/admin/tenants');
    expect(listing.status).toBe(200);
    expect(listing.json.tenants.find((t: { id: string }) => t.id === ACME)).toEqual(acme());
    const one = await admin(fast, 'GET', `/admin/tenants/${ACME}`);
    expect(one.status).toBe(200);
    expect(one.json).toEqual(acme());
  });

  describe('a hand-written tenant that fails validation', () => {
    const BROKEN = id('broken');
    const BROKEN_KEY = newKey('broken');
    const GARBLED = id('garbled');
    const MISNAMED = id('misnamed');

    beforeAll(async () => {
      // A typo (`allowedRoute`) that, if ignored, would leave the tenant without its allowlist.
      const broken = { id: BROKEN, upstreamBaseUrl: `${upstream.url}/broken`, allowedRoute: [{ path: '/' }] };
      await raw.set(`tenant:${BROKEN}`, JSON.stringify(broken));
      await raw.set(`tenant:byApiKey:${sha256Hex(BROKEN_KEY)}`, BROKEN);
      await raw.set(`tenant:${GARBLED}`, '{"id": "not json');
      await raw.set(`tenant:${MISNAMED}`, JSON.stringify({ ...acme(), id: id('someone-else') }));
    });

    it('answers 500 tenant_misconfigured on /api and never reaches the upstream', async () => {
      const before = upstream.received.length;
      for (const gw of [fast, slow]) {
        expectProblem(await api(gw, '/anything', BROKEN_KEY), 500, 'tenant_misconfigured');
      }
      expect(upstream.received.length).toBe(before);
      // The reason is logged for the operator.
      const logged = fast.logs.find((l) => l.tenantId === BROKEN && l.level === 'error');
      expect(logged).toBeDefined();
      expect(JSON.stringify(logged)).toContain('allowedRoute');
    });

    it('appears under invalidTenants in the listing, with its problems, and not under tenants', async () => {
      const listing = await admin(fast, 'GET', '/admin/tenants');
      expect(listing.status).toBe(200);
      const listedIds = listing.json.tenants.map((t: { id: string }) => t.id);
      const invalid = new Map<string, { path: string }[]>(
        listing.json.invalidTenants.map((t: { id: string; errors: { path: string }[] }) => [t.id, t.errors]),
      );
      for (const bad of [BROKEN, GARBLED, MISNAMED]) {
        expect(listedIds).not.toContain(bad);
        expect(invalid.has(bad)).toBe(true);
      }
      expect(invalid.get(BROKEN)!.map((e) => e.path).sort()).toEqual(['allowedRoute', 'allowedRoutes']);
      expect(invalid.get(GARBLED)!.map((e) => e.path)).toEqual(['']);
      expect(invalid.get(MISNAMED)!.map((e) => e.path)).toEqual(['id']);
      expect(listedIds).toContain(ACME);
    });
  });

  it('serves a tenant from cache until TENANT_CACHE_TTL_MS, then picks up the hand-written change', async () => {
    const CACHED = id('cached');
    const key = newKey('cached');
    const tenant = (prefix: string) => ({ id: CACHED, upstreamBaseUrl: `${upstream.url}${prefix}`, allowedRoutes: [{ path: '/' }] });
    await raw.set(`tenant:${CACHED}`, JSON.stringify(tenant('/one')));
    await raw.set(`tenant:byApiKey:${sha256Hex(key)}`, CACHED);
    expect(await upstreamPathOf(slow, '/x', key)).toBe('/one/x');
    expect(await upstreamPathOf(fast, '/x', key)).toBe('/one/x');

    await raw.set(`tenant:${CACHED}`, JSON.stringify(tenant('/two')));
    const changedAt = Date.now();
    // The 200 ms gateway picks the change up within a bounded wait...
    await waitFor(async () => (await upstreamPathOf(fast, '/x', key)) === '/two/x', 3000, 'change picked up after the TTL');
    // ...while the 60 s gateway keeps serving its cached tenant, well past the small TTL.
    while (Date.now() - changedAt < 600) {
      expect(await upstreamPathOf(slow, '/x', key)).toBe('/one/x');
      await new Promise((r) => setTimeout(r, 100));
    }
  });

  // A hand-written mapping has no key metadata: DELETE finds it by SCAN (SPEC §6: "removes its key mappings").
  it('DELETE /admin/tenants/:id removes hand-written key mappings too, so a re-created tenant inherits no key', async () => {
    const HAND = id('hand-deleted');
    const key = newKey('hand_deleted');
    const tenant = { id: HAND, upstreamBaseUrl: `${upstream.url}/hand`, allowedRoutes: [{ path: '/' }] };
    await raw.set(`tenant:${HAND}`, JSON.stringify(tenant));
    await raw.set(`tenant:byApiKey:${sha256Hex(key)}`, HAND);
    expect(await upstreamPathOf(fast, '/x', key)).toBe('/hand/x');
    expect((await admin(fast, 'DELETE', `/admin/tenants/${HAND}`)).status).toBe(204);
    expectProblem(await api(fast, '/x', key), 401, 'invalid_api_key');
    expect((await admin(fast, 'POST', '/admin/tenants', tenant)).status).toBe(201);
    const mapping = await raw.get(`tenant:byApiKey:${sha256Hex(key)}`);
    const reply = await api(fast, '/x', key);
    expect({ mapping, status: reply.status }).toEqual({ mapping: null, status: 401 });
  });

  it('picks up a hand-written key mapping added or removed after TENANT_CACHE_TTL_MS', async () => {
    const key = newKey('late');
    expectProblem(await api(fast, '/x', key), 401, 'invalid_api_key'); // now negatively cached
    await raw.set(`tenant:byApiKey:${sha256Hex(key)}`, ACME);
    await waitFor(async () => (await api(fast, '/v2/admin', key)).status === 200, 3000, 'new mapping works');
    await raw.del(`tenant:byApiKey:${sha256Hex(key)}`);
    await waitFor(async () => (await api(fast, '/v2/admin', key)).status === 401, 3000, 'removed mapping refused');
    expectProblem(await api(fast, '/v2/admin', key), 401, 'invalid_api_key');
  });
});

describe('TENANTS_FILE with the embedded store (no Redis)', () => {
  const FILED = id('filed');
  const PLAIN_KEY = newKey('file');
  const HASHED_KEY = newKey('file_hashed');
  let gw: TestGateway;

  const tenant = () => ({ id: FILED, name: 'From a file', upstreamBaseUrl: `${upstream.url}/file`, allowedRoutes: [{ path: '/' }] });

  beforeAll(async () => {
    const file = writeTenantsFile('tenants.json', {
      // The hash in upper case: hex is hex.
      tenants: [{ ...tenant(), apiKeys: [PLAIN_KEY], apiKeyHashes: [sha256Hex(HASHED_KEY).toUpperCase()] }],
    });
    gw = await startGateway({ TENANTS_FILE: file });
  });

  afterAll(async () => {
    await gw?.close();
  });

  it('runs on the embedded store', async () => {
    const health = await admin(gw, 'GET', '/admin/health');
    expect(health.status).toBe(200);
    expect(JSON.stringify(health.json.store)).toContain('memory');
  });

  it('serves the tenant with both its plain key and its hashed key', async () => {
    expect(await upstreamPathOf(gw, '/v1/a?b=c', PLAIN_KEY)).toBe('/file/v1/a?b=c');
    expect(await upstreamPathOf(gw, '/v1/b', HASHED_KEY)).toBe('/file/v1/b');
    expectProblem(await api(gw, '/v1/a', newKey('other')), 401, 'invalid_api_key');
  });

  it('lists the tenant and its two keys (by fingerprint only)', async () => {
    const listing = await admin(gw, 'GET', '/admin/tenants');
    expect(listing.json.tenants).toEqual([tenant()]);
    const keys = await admin(gw, 'GET', `/admin/tenants/${FILED}/keys`);
    expect(keys.status).toBe(200);
    expect(keys.json.keys.map((k: { fingerprint: string }) => k.fingerprint).sort()).toEqual(
      [sha256Hex(PLAIN_KEY).slice(-4), sha256Hex(HASHED_KEY).slice(-4)].sort(),
    );
    for (const secret of [PLAIN_KEY, HASHED_KEY, sha256Hex(PLAIN_KEY), sha256Hex(HASHED_KEY)]) {
      expect(keys.text).not.toContain(secret);
    }
    expect(gw.rawLogs()).not.toContain(PLAIN_KEY);
  });
});

describe('an invalid TENANTS_FILE', () => {
  const expectRefused = async (file: string, ...mentions: string[]): Promise<ConfigError> => {
    let failure: unknown;
    let started: TestGateway | undefined;
    try {
      started = await startGateway({ TENANTS_FILE: file });
    } catch (err) {
      failure = err;
    }
    await started?.close();
    expect(failure).toBeInstanceOf(ConfigError);
    const message = (failure as ConfigError).message;
    expect(message).toContain('TENANTS_FILE');
    expect(message).toContain(file);
    for (const mention of mentions) expect(message).toContain(mention);
    return failure as ConfigError;
  };

  it('makes startGateway reject with a ConfigError naming TENANTS_FILE, the file and the bad path', async () => {
    const secret = 'short-secret-k'; // 14 characters: refused, and never repeated in the message
    const file = writeTenantsFile('invalid.json', {
      tenants: [{ id: id('bad'), upstreamBaseUrl: 'ftp://files.example.com', allowedRoutes: [{ path: '/' }], apiKeys: [secret] }],
    });
    const error = await expectRefused(file, 'tenants[0].upstreamBaseUrl', 'tenants[0].apiKeys[0]');
    expect(error.message).not.toContain(secret);
    expect(error.problems.every((p) => p.variable === 'TENANTS_FILE')).toBe(true);
  });

  it('refuses a file that is not JSON', async () => {
    await expectRefused(writeTenantsFile('garbled.json', '{"tenants": ['), 'JSON');
  });

  it('refuses a file that does not exist', async () => {
    await expectRefused(join(dir, 'missing.json'));
  });
});

describe('TENANTS_FILE with Redis', () => {
  const FILED = id('filed-redis');
  const PLAIN_KEY = newKey('redis_file');
  const HASHED_KEY = newKey('redis_file_hashed');
  let redis: RedisHandle;
  let raw: Redis;
  let file: string;
  const gateways: TestGateway[] = [];

  const tenant = () => ({ id: FILED, upstreamBaseUrl: `${upstream.url}/from-file`, allowedRoutes: [{ path: '/v1' }] });
  const keysKey = `gw:{${FILED}}:keys`;

  /** Waits (bounded) until the file's tenant and both key mappings are in Redis. */
  const upserted = async (): Promise<boolean> =>
    (await raw.get(`tenant:${FILED}`)) === JSON.stringify(tenant()) &&
    (await raw.get(`tenant:byApiKey:${sha256Hex(PLAIN_KEY)}`)) === FILED &&
    (await raw.get(`tenant:byApiKey:${sha256Hex(HASHED_KEY)}`)) === FILED;

  beforeAll(async () => {
    redis = await startRedis();
    raw = redis.client();
    // An older version of the tenant is already there: the file wins.
    await raw.set(`tenant:${FILED}`, JSON.stringify({ ...tenant(), upstreamBaseUrl: `${upstream.url}/old` }));
    file = writeTenantsFile('redis-tenants.json', {
      tenants: [{ ...tenant(), apiKeys: [PLAIN_KEY], apiKeyHashes: [sha256Hex(HASHED_KEY)] }],
    });
    gateways.push(await startGateway({ REDIS_URL: redis.url, TENANTS_FILE: file }));
    await waitReady(gateways[0]);
  });

  afterAll(async () => {
    for (const gw of gateways) await gw.close();
    if (raw && redis && !redis.canRestart) await cleanupRedis(raw, (tenantId) => tenantId.endsWith(`-${RUN}`));
    await redis?.stop();
  });

  it('upserts the tenant and its key mappings into Redis at start, in the SPEC §4 layout', async () => {
    await waitFor(upserted, 5000, 'TENANTS_FILE upserted into Redis');
    expect(await raw.hlen(keysKey)).toBe(2);
    const records = Object.values(await raw.hgetall(keysKey)).map((json) => JSON.parse(json) as { hash: string });
    expect(records.map((r) => r.hash).sort()).toEqual([sha256Hex(PLAIN_KEY), sha256Hex(HASHED_KEY)].sort());
  });

  it('serves the tenant with both keys', async () => {
    expect(await upstreamPathOf(gateways[0], '/v1/x', PLAIN_KEY)).toBe('/from-file/v1/x');
    expect(await upstreamPathOf(gateways[0], '/v1/y', HASHED_KEY)).toBe('/from-file/v1/y');
    expectProblem(await api(gateways[0], '/v2', PLAIN_KEY), 403, 'route_not_allowed');
  });

  it('never stores the plain key', async () => {
    const dump = await dumpRedis(raw);
    const leaks = dump.filter(({ key, value }) => key.includes(PLAIN_KEY) || value.includes(PLAIN_KEY) || value.includes(HASHED_KEY));
    expect(leaks).toEqual([]);
  });

  it('loading the same file again (another replica starting) duplicates nothing', async () => {
    // Undo what the first load wrote (but the key metadata), so the second load can be seen to happen.
    await raw.set(`tenant:${FILED}`, JSON.stringify({ ...tenant(), upstreamBaseUrl: `${upstream.url}/old` }));
    await raw.del(`tenant:byApiKey:${sha256Hex(PLAIN_KEY)}`, `tenant:byApiKey:${sha256Hex(HASHED_KEY)}`);
    const second = await startGateway({ REDIS_URL: redis.url, TENANTS_FILE: file });
    gateways.push(second);
    await waitReady(second);
    // Each mapping is written after its metadata: once both are back, the whole file is loaded again.
    await waitFor(upserted, 5000, 'TENANTS_FILE upserted again');
    expect(await raw.hlen(keysKey)).toBe(2);
    expect(await upstreamPathOf(second, '/v1/z', PLAIN_KEY)).toBe('/from-file/v1/z');
  });
});
