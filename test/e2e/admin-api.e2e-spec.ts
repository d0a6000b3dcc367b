import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { ADMIN_TOKEN, startGateway, type TestGateway } from '../support/gateway';
import { startRedis, waitFor, type RedisHandle } from '../support/redis-server';
import { startUpstream, type Upstream } from '../support/upstream';
import {
  admin,
  api,
  cleanupRedis,
  dumpRedis,
  expectProblem,
  send,
  sha256Hex,
  waitReady,
  type Reply,
} from './helpers/e2e-http';

/**
 * The control plane (SPEC §6) end to end: the real app, a real redis-server and a real echo upstream.
 * Tenant ids carry a per-run suffix so the suite can share a Redis given by REDIS_URL.
 */

const RUN = randomBytes(3).toString('hex');
const id = (name: string): string => `${name}-${RUN}`;
const MiB = 1024 * 1024;

let redis: RedisHandle;
let raw: Redis;
let upstream: Upstream;
let gw: TestGateway;
/** Every API key this suite was shown, to look for in Redis and in the logs at the end. */
const seenKeys: string[] = [];

function tenantBody(tenantId: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { id: tenantId, upstreamBaseUrl: `${upstream.url}/svc/${tenantId}`, allowedRoutes: [{ path: '/' }], ...extra };
}

async function createTenant(tenantId: string, extra: Record<string, unknown> = {}): Promise<Reply> {
  const reply = await admin(gw, 'POST', '/admin/tenants', tenantBody(tenantId, extra));
  expect([reply.status, reply.text]).toEqual([201, reply.text]);
  return reply;
}

async function createKey(tenantId: string, body?: unknown): Promise<Reply> {
  const reply = await admin(gw, 'POST', `/admin/tenants/${tenantId}/keys`, body);
  expect([reply.status, reply.text]).toEqual([201, reply.text]);
  if (typeof reply.json?.apiKey === 'string') seenKeys.push(reply.json.apiKey);
  return reply;
}

/** The echo upstream's view of a request that went through. */
async function expectProxied(apiKey: string, tenantId: string, path = '/hello?x=1'): Promise<void> {
  const reply = await api(gw, path, apiKey);
  expect([reply.status, reply.text.slice(0, 300)]).toEqual([200, reply.text.slice(0, 300)]);
  expect(reply.json.url).toBe(`/svc/${tenantId}${path}`);
  expect(reply.json.headers['x-tenant-id']).toBe(tenantId);
  expect(reply.json.headers['x-api-key']).toBeUndefined();
}

beforeAll(async () => {
  redis = await startRedis();
  raw = redis.client();
  upstream = await startUpstream();
  // A long cache TTL: whatever takes effect at once below does so because the gateway drops its caches.
  gw = await startGateway({ REDIS_URL: redis.url, TENANT_CACHE_TTL_MS: '60000' });
  await waitReady(gw);
});

afterAll(async () => {
  await gw?.close();
  await upstream?.close();
  if (raw && redis && !redis.canRestart) await cleanupRedis(raw, (tenantId) => tenantId.endsWith(`-${RUN}`));
  await redis?.stop();
});

describe('admin guard', () => {
  const GUARDED = id('guarded');
  let keyId: string;

  beforeAll(async () => {
    await createTenant(GUARDED, { name: 'before' });
    keyId = (await createKey(GUARDED)).json.keyId;
  });

  const lastCharDiffers = ADMIN_TOKEN.slice(0, -1) + (ADMIN_TOKEN.endsWith('f') ? 'e' : 'f');
  const tokens: [string, string | null][] = [
    ['no X-Admin-Token header', null],
    ['a wrong token', 'not-the-admin-token-at-all'],
    ['a token differing only in its last character', lastCharDiffers],
    ['the token with one character more', `${ADMIN_TOKEN}x`],
    ['the token in another case', ADMIN_TOKEN.toUpperCase()],
    ['an empty header', ''],
  ];
  const routes = (): [string, string, unknown][] => [
    ['GET', '/admin/health', undefined],
    ['GET', '/admin/tenants', undefined],
    ['POST', '/admin/tenants', tenantBody(id('intruder'))],
    ['GET', `/admin/tenants/${GUARDED}`, undefined],
    ['PUT', `/admin/tenants/${GUARDED}`, tenantBody(GUARDED, { name: 'hijacked' })],
    ['PUT', `/admin/tenants/${id('intruder2')}`, tenantBody(id('intruder2'))],
    ['DELETE', `/admin/tenants/${GUARDED}`, undefined],
    ['POST', `/admin/tenants/${GUARDED}/keys`, {}],
    ['GET', `/admin/tenants/${GUARDED}/keys`, undefined],
    ['DELETE', `/admin/tenants/${GUARDED}/keys/${'KEYID'}`, undefined],
    // Paths that do not exist are refused the same way: nothing about the admin API is revealed.
    ['GET', '/admin/no-such-thing', undefined],
    ['POST', '/admin', {}],
  ];

  it.each(tokens)('answers 401 invalid_admin_token to %s on every /admin route', async (_name, token) => {
    for (const [method, path, body] of routes()) {
      const reply = await admin(gw, method, path.replace('KEYID', keyId), body, token);
      expect({ route: `${method} ${path}`, status: reply.status }).toEqual({ route: `${method} ${path}`, status: 401 });
      expectProblem(reply, 401, 'invalid_admin_token');
      expect(reply.json.title).toBe('Unauthorized');
      // The answer tells nothing about the resource.
      expect(reply.text).not.toContain(GUARDED);
    }
  });

  it('with the token, a path that does not exist is 404 not_found', async () => {
    expectProblem(await admin(gw, 'GET', '/admin/no-such-thing'), 404, 'not_found');
  });

  it('let nothing through: the tenant and its key are unchanged, no tenant was created', async () => {
    const tenant = await admin(gw, 'GET', `/admin/tenants/${GUARDED}`);
    expect(tenant.status).toBe(200);
    expect(tenant.json.name).toBe('before');
    const keys = await admin(gw, 'GET', `/admin/tenants/${GUARDED}/keys`);
    expect(keys.json.keys.map((k: { keyId: string }) => k.keyId)).toEqual([keyId]);
    expect((await admin(gw, 'GET', `/admin/tenants/${id('intruder')}`)).status).toBe(404);
    expect((await admin(gw, 'GET', `/admin/tenants/${id('intruder2')}`)).status).toBe(404);
    expect(await raw.exists(`tenant:${id('intruder')}`, `tenant:${id('intruder2')}`)).toBe(0);
  });

  it('checks the token before reading the body: malformed, non-JSON or oversized bodies without a token are 401', async () => {
    const json = { 'Content-Type': 'application/json' };
    const wrong = { ...json, 'X-Admin-Token': lastCharDiffers };
    const big = Buffer.alloc(2 * MiB, ' ');
    const cases: [string, Parameters<typeof send>[3]][] = [
      ['malformed JSON', { headers: json, body: '{"id":' }],
      ['malformed JSON, wrong token', { headers: wrong, body: '{"id":' }],
      ['text/plain', { headers: { 'Content-Type': 'text/plain' }, body: 'hello' }],
      ['2 MiB announced', { headers: json, body: big, announceLength: big.length }],
      ['2 MiB chunked, wrong token', { headers: wrong, body: big, chunked: true }],
    ];
    for (const [name, opts] of cases) {
      const reply = await send(gw.url, 'POST', '/admin/tenants', opts);
      expect({ name, status: reply.status }).toEqual({ name, status: 401 });
      expectProblem(reply, 401, 'invalid_admin_token');
    }
    expect((await admin(gw, 'GET', '/admin/health')).status).toBe(200);
  });

  it('accepts the right token', async () => {
    expect((await admin(gw, 'GET', '/admin/tenants')).status).toBe(200);
  });
});

describe('tenants CRUD', () => {
  const A = id('crud-a');
  const B = id('crud-b');
  const normalisedA = () => ({
    id: A,
    name: 'Tenant A',
    upstreamBaseUrl: `${upstream.url}/base`,
    allowedRoutes: [{ path: '/v1/users', methods: ['GET', 'POST'] }, { path: '/' }],
    rateLimit: { windowSeconds: 60, maxRequests: 1000 },
  });

  it('POST creates (201) and returns the normalised tenant', async () => {
    const reply = await admin(gw, 'POST', '/admin/tenants', {
      id: A,
      name: 'Tenant A',
      // Upper-case scheme and trailing slash; route trailing slash; lower-case methods: all normalised.
      upstreamBaseUrl: `${upstream.url.replace('http:', 'HTTP:')}/base/`,
      allowedRoutes: [{ path: '/v1/users/', methods: ['get', 'post'] }, { path: '/' }],
      rateLimit: { windowSeconds: 60, maxRequests: 1000 },
    });
    expect([reply.status, reply.text]).toEqual([201, reply.text]);
    expect(reply.headers['content-type']).toMatch(/^application\/json\b/);
    expect(reply.json).toEqual(normalisedA());
    // What is stored is the normalised tenant, in the SPEC §4 layout.
    expect(JSON.parse((await raw.get(`tenant:${A}`))!)).toEqual(normalisedA());
  });

  it('a second POST with the same id is 409 tenant_exists and changes nothing', async () => {
    const reply = await admin(gw, 'POST', '/admin/tenants', tenantBody(A, { name: 'Impostor' }));
    expectProblem(reply, 409, 'tenant_exists');
    expect((await admin(gw, 'GET', `/admin/tenants/${A}`)).json).toEqual(normalisedA());
  });

  it('GET returns 200 with the tenant, or 404 tenant_not_found', async () => {
    const found = await admin(gw, 'GET', `/admin/tenants/${A}`);
    expect(found.status).toBe(200);
    expect(found.json).toEqual(normalisedA());
    expectProblem(await admin(gw, 'GET', `/admin/tenants/${id('nobody')}`), 404, 'tenant_not_found');
  });

  it('PUT replaces an existing tenant (200) and creates a new one (201)', async () => {
    const replaced = await admin(gw, 'PUT', `/admin/tenants/${A}`, tenantBody(A, { name: 'Tenant A v2' }));
    expect([replaced.status, replaced.text]).toEqual([200, replaced.text]);
    expect(replaced.json).toEqual({ ...tenantBody(A), name: 'Tenant A v2' });
    // Replace, not merge: the rate limit of the first version is gone.
    expect((await admin(gw, 'GET', `/admin/tenants/${A}`)).json).toEqual({ ...tenantBody(A), name: 'Tenant A v2' });

    const created = await admin(gw, 'PUT', `/admin/tenants/${B}`, tenantBody(B));
    expect([created.status, created.text]).toEqual([201, created.text]);
    expect(created.json).toEqual(tenantBody(B));
    expect((await admin(gw, 'GET', `/admin/tenants/${B}`)).status).toBe(200);
  });

  it('PUT whose body names another id is 400 and writes nothing', async () => {
    const other = id('crud-other');
    const reply = await admin(gw, 'PUT', `/admin/tenants/${A}`, tenantBody(other, { name: 'moved' }));
    expectProblem(reply, 400, 'invalid_tenant');
    expect(reply.json.errors.map((e: { path: string }) => e.path)).toContain('id');
    expect((await admin(gw, 'GET', `/admin/tenants/${A}`)).json.name).toBe('Tenant A v2');
    expect((await admin(gw, 'GET', `/admin/tenants/${other}`)).status).toBe(404);
  });

  it('GET /admin/tenants lists the created tenants', async () => {
    const reply = await admin(gw, 'GET', '/admin/tenants');
    expect(reply.status).toBe(200);
    const listed = new Map<string, unknown>(reply.json.tenants.map((t: { id: string }) => [t.id, t]));
    expect(listed.get(A)).toEqual({ ...tenantBody(A), name: 'Tenant A v2' });
    expect(listed.get(B)).toEqual(tenantBody(B));
    expect(Array.isArray(reply.json.invalidTenants)).toBe(true);
  });

  it('a URL id that cannot be a tenant id names no tenant: byApiKey:<hash> never reaches a key mapping', async () => {
    const key = (await createKey(A)).json.apiKey as string;
    const mapping = `tenant:byApiKey:${sha256Hex(key)}`;
    const path = `/admin/tenants/byApiKey:${sha256Hex(key)}`;
    expectProblem(await admin(gw, 'GET', path), 404, 'tenant_not_found');
    expectProblem(await admin(gw, 'DELETE', path), 404, 'tenant_not_found');
    expectProblem(await admin(gw, 'GET', `${path}/keys`), 404, 'tenant_not_found');
    expectProblem(await admin(gw, 'POST', `${path}/keys`, {}), 404, 'tenant_not_found');
    expectProblem(await admin(gw, 'PUT', path, { upstreamBaseUrl: upstream.url, allowedRoutes: [] }), 400, 'invalid_tenant');
    expect(await raw.get(mapping)).toBe(A);
    await expectProxied(key, A);
  });

  it('DELETE answers 204 with no body, then the tenant is 404 (and a second DELETE too)', async () => {
    const reply = await admin(gw, 'DELETE', `/admin/tenants/${B}`);
    expect(reply.status).toBe(204);
    expect(reply.text).toBe('');
    expectProblem(await admin(gw, 'GET', `/admin/tenants/${B}`), 404, 'tenant_not_found');
    expectProblem(await admin(gw, 'DELETE', `/admin/tenants/${B}`), 404, 'tenant_not_found');
    expect(await raw.exists(`tenant:${B}`)).toBe(0);
    const listed = (await admin(gw, 'GET', '/admin/tenants')).json.tenants.map((t: { id: string }) => t.id);
    expect(listed).toContain(A);
    expect(listed).not.toContain(B);
  });
});

describe('tenant validation', () => {
  const pathsOf = (reply: Reply): string[] => reply.json.errors.map((e: { path: string }) => e.path).sort();

  function expectEveryIssueWellFormed(reply: Reply): void {
    for (const error of reply.json.errors) {
      expect(Object.keys(error).sort()).toEqual(['message', 'path']);
      expect(typeof error.path).toBe('string');
      expect(error.message).toEqual(expect.any(String));
      expect(error.message.length).toBeGreaterThan(0);
    }
  }

  it('reports every problem with its path: unknown fields, bad id, bad upstream URL, JWT route without idp', async () => {
    const reply = await admin(gw, 'POST', '/admin/tenants', {
      id: 'bad id!',
      colour: 'blue',
      upstreamBaseUrl: 'ftp://files.example.com/base',
      allowedRoutes: [
        { path: '/v1/public', method: ['GET'] },
        { path: '/v1/users', auth: { jwt: true } },
      ],
    });
    expectProblem(reply, 400, 'invalid_tenant');
    expect(pathsOf(reply)).toEqual(
      ['allowedRoutes[0].method', 'allowedRoutes[1].auth.jwt', 'colour', 'id', 'upstreamBaseUrl'].sort(),
    );
    expectEveryIssueWellFormed(reply);
  });

  it('reports every problem with its path: alg "none", HMAC, URL with a query, unknown idp field', async () => {
    const tenantId = id('invalid-alg');
    const reply = await admin(gw, 'POST', '/admin/tenants', {
      id: tenantId,
      upstreamBaseUrl: 'https://api.example.com/base?debug=1',
      allowedRoutes: [{ path: '/v1/users', auth: { jwt: true } }],
      idp: {
        issuer: 'https://auth.example.com',
        jwksUri: 'https://auth.example.com/.well-known/jwks.json',
        algorithms: ['RS256', 'none', 'HS256'],
        audiences: ['api'],
      },
      rateLimit: { windowSeconds: 0, maxRequests: 10 },
    });
    expectProblem(reply, 400, 'invalid_tenant');
    expect(pathsOf(reply)).toEqual(
      ['idp.algorithms[1]', 'idp.algorithms[2]', 'idp.audiences', 'rateLimit.windowSeconds', 'upstreamBaseUrl'].sort(),
    );
    expect(reply.json.errors.find((e: { path: string }) => e.path === 'idp.algorithms[1]').message).toMatch(/none/);
    expectEveryIssueWellFormed(reply);
    expect((await admin(gw, 'GET', `/admin/tenants/${tenantId}`)).status).toBe(404);
    expect(await raw.exists(`tenant:${tenantId}`)).toBe(0);
  });

  it('validates PUT bodies the same way', async () => {
    const tenantId = id('invalid-put');
    const reply = await admin(gw, 'PUT', `/admin/tenants/${tenantId}`, {
      upstreamBaseUrl: 'http://user:secret@example.com',
      allowedRoutes: [{ path: 'no-slash' }],
      disabled: 'no',
    });
    expectProblem(reply, 400, 'invalid_tenant');
    expect(pathsOf(reply)).toEqual(['allowedRoutes[0].path', 'disabled', 'upstreamBaseUrl']);
    expect(await raw.exists(`tenant:${tenantId}`)).toBe(0);
  });

  it('refuses a body that is not an object', async () => {
    for (const body of [[], 'acme', 42, null]) {
      const reply = await admin(gw, 'POST', '/admin/tenants', body);
      expectProblem(reply, 400, 'invalid_tenant');
    }
  });
});

describe('admin request bodies', () => {
  const post = (headers: Record<string, string>, body: string | Buffer, extra: { chunked?: boolean; announceLength?: number } = {}) =>
    send(gw.url, 'POST', '/admin/tenants', { headers: { 'X-Admin-Token': ADMIN_TOKEN, ...headers }, body, ...extra });
  const json = { 'Content-Type': 'application/json' };

  /** A valid tenant JSON padded with spaces to exactly `size` bytes. */
  function paddedTenant(tenantId: string, size: number): Buffer {
    const text = JSON.stringify(tenantBody(tenantId));
    return Buffer.from(text + ' '.repeat(size - Buffer.byteLength(text)));
  }

  it('refuses a non-JSON content type with 415', async () => {
    const body = JSON.stringify(tenantBody(id('plain')));
    expectProblem(await post({ 'Content-Type': 'text/plain' }, body), 415, 'unsupported_media_type');
    expectProblem(await post({ 'Content-Type': 'application/x-www-form-urlencoded' }, 'id=x'), 415, 'unsupported_media_type');
    expectProblem(await post({}, body), 415, 'unsupported_media_type');
    expect(await raw.exists(`tenant:${id('plain')}`)).toBe(0);
  });

  it('refuses malformed JSON with 400', async () => {
    expectProblem(await post(json, '{"id": "x",'), 400, 'malformed_json');
    expectProblem(await post(json, "{'id': 'x'}"), 400, 'malformed_json');
  });

  it('refuses a body over 1 MiB with 413, announced by Content-Length', async () => {
    const reply = await post(json, paddedTenant(id('big-cl'), MiB + 1), { announceLength: MiB + 1 });
    expectProblem(reply, 413, 'payload_too_large');
    expect(await raw.exists(`tenant:${id('big-cl')}`)).toBe(0);
  });

  it('refuses a body over 1 MiB with 413 when it is sent chunked', async () => {
    const reply = await post(json, paddedTenant(id('big-chunked'), 2 * MiB), { chunked: true });
    expectProblem(reply, 413, 'payload_too_large');
    expect(await raw.exists(`tenant:${id('big-chunked')}`)).toBe(0);
  });

  it('accepts a body of exactly 1 MiB, with Content-Length or chunked', async () => {
    const reply = await post(json, paddedTenant(id('exact-cl'), MiB));
    expect([reply.status, reply.text.slice(0, 300)]).toEqual([201, reply.text.slice(0, 300)]);
    const chunked = await post(json, paddedTenant(id('exact-chunked'), MiB), { chunked: true });
    expect([chunked.status, chunked.text.slice(0, 300)]).toEqual([201, chunked.text.slice(0, 300)]);
  });

  it('still serves the admin API afterwards', async () => {
    expect((await admin(gw, 'GET', '/admin/health')).status).toBe(200);
  });
});

describe('API keys', () => {
  const T = id('keys');
  const OTHER = id('keys-other');
  let created: Reply;

  beforeAll(async () => {
    await createTenant(T);
    await createTenant(OTHER);
  });

  it('POST creates a key shown once: keyId, apiKey, createdAt, expiresAt', async () => {
    const before = Date.now();
    created = await createKey(T, {});
    expect(created.json).toEqual(
      expect.objectContaining({ keyId: expect.any(String), apiKey: expect.any(String), createdAt: expect.any(String), expiresAt: null }),
    );
    expect(created.json.apiKey.length).toBeGreaterThanOrEqual(32);
    const createdAt = Date.parse(created.json.createdAt);
    expect(createdAt).toBeGreaterThanOrEqual(before - 1000);
    expect(createdAt).toBeLessThanOrEqual(Date.now() + 1000);
    // Never the hash: only the fingerprint may be derived from it.
    expect(created.text).not.toContain(sha256Hex(created.json.apiKey));
  });

  it('the new key works on /api/* (proxied to the upstream)', async () => {
    await expectProxied(created.json.apiKey, T);
  });

  it('a POST without a body creates a key too', async () => {
    const reply = await createKey(T);
    await expectProxied(reply.json.apiKey, T);
  });

  it('GET lists keyId, name, createdAt, expiresAt, expired, disabled, rateLimit and fingerprint: never the key nor its hash', async () => {
    const reply = await admin(gw, 'GET', `/admin/tenants/${T}/keys`);
    expect(reply.status).toBe(200);
    const mine = reply.json.keys.find((k: { keyId: string }) => k.keyId === created.json.keyId);
    expect(mine).toEqual({
      keyId: created.json.keyId,
      name: null,
      createdAt: created.json.createdAt,
      expiresAt: null,
      expired: false,
      disabled: false,
      rateLimit: null,
      fingerprint: sha256Hex(created.json.apiKey).slice(-4),
    });
    const fields = ['createdAt', 'disabled', 'expired', 'expiresAt', 'fingerprint', 'keyId', 'name', 'rateLimit'];
    for (const key of reply.json.keys) expect(Object.keys(key).sort()).toEqual(fields);
    for (const apiKey of seenKeys) {
      expect(reply.text).not.toContain(apiKey);
      expect(reply.text).not.toContain(sha256Hex(apiKey));
    }
  });

  it('registers an existing key by its SHA-256: the plain key works and no apiKey is returned', async () => {
    const plain = `sgw_registered_${randomBytes(16).toString('hex')}`;
    seenKeys.push(plain);
    const hash = sha256Hex(plain);
    const reply = await createKey(T, { sha256: hash });
    expect(reply.json.apiKey).toBeUndefined();
    expect(reply.json).toEqual(expect.objectContaining({ keyId: expect.any(String), createdAt: expect.any(String), expiresAt: null }));
    expect(reply.text).not.toContain(hash);
    expect(reply.text).not.toContain(plain);
    await expectProxied(plain, T);
    const listed = (await admin(gw, 'GET', `/admin/tenants/${T}/keys`)).json.keys;
    expect(listed.find((k: { keyId: string }) => k.keyId === reply.json.keyId).fingerprint).toBe(hash.slice(-4));
  });

  it('refuses a hash already mapped (409), on this tenant or another one', async () => {
    const hash = sha256Hex(created.json.apiKey);
    const count = (await admin(gw, 'GET', `/admin/tenants/${T}/keys`)).json.keys.length;
    const same = await admin(gw, 'POST', `/admin/tenants/${T}/keys`, { sha256: hash });
    expect([same.status, same.json?.code]).toEqual([409, 'key_exists']);
    expectProblem(same, 409, 'key_exists');
    // Registering someone else's key must not take it over.
    expectProblem(await admin(gw, 'POST', `/admin/tenants/${OTHER}/keys`, { sha256: hash }), 409, 'key_exists');
    expect(await raw.get(`tenant:byApiKey:${hash}`)).toBe(T);
    await expectProxied(created.json.apiKey, T);
    expect((await admin(gw, 'GET', `/admin/tenants/${T}/keys`)).json.keys).toHaveLength(count);
    expect((await admin(gw, 'GET', `/admin/tenants/${OTHER}/keys`)).json.keys).toHaveLength(0);
  });

  it.each([
    ['an expiresAt in the past', { expiresAt: new Date(Date.now() - 60_000).toISOString() }, 'expiresAt'],
    ['a malformed expiresAt', { expiresAt: 'next tuesday' }, 'expiresAt'],
    ['an expiresAt without a time', { expiresAt: '2999-01-01' }, 'expiresAt'],
    ['an impossible expiresAt', { expiresAt: '2999-13-45T25:61:00Z' }, 'expiresAt'],
    ['an expiresAt that is not a string', { expiresAt: 32503680000000 }, 'expiresAt'],
    ['an unknown field', { expires: '2999-01-01T00:00:00Z' }, 'expires'],
    ['a sha256 that is not 64 hex characters', { sha256: 'abc123' }, 'sha256'],
  ])('refuses %s with 400 and creates nothing', async (_name, body, path) => {
    const count = (await admin(gw, 'GET', `/admin/tenants/${T}/keys`)).json.keys.length;
    const reply = await admin(gw, 'POST', `/admin/tenants/${T}/keys`, body);
    expect([reply.status, reply.text]).toEqual([400, reply.text]);
    expectProblem(reply, 400, 'invalid_request');
    expect(reply.json.errors.map((e: { path: string }) => e.path)).toContain(path);
    expect((await admin(gw, 'GET', `/admin/tenants/${T}/keys`)).json.keys).toHaveLength(count);
  });

  it('a key with a future expiresAt works until then, is listed with it, and stops working after it', async () => {
    const expiresAt = new Date(Date.now() + 1500).toISOString();
    const reply = await createKey(T, { expiresAt });
    expect(reply.json.expiresAt).toBe(expiresAt);
    await expectProxied(reply.json.apiKey, T);
    const listed = (await admin(gw, 'GET', `/admin/tenants/${T}/keys`)).json.keys;
    expect(listed.find((k: { keyId: string }) => k.keyId === reply.json.keyId).expiresAt).toBe(expiresAt);
    // The cache TTL is 60 s: the key must still stop at its own expiry.
    let last = '';
    await waitFor(
      async () => {
        const seen = await api(gw, '/hello', reply.json.apiKey);
        last = `${seen.status} ${seen.text.slice(0, 200)}`;
        return seen.status === 401;
      },
      // Generous: the key expires 1.5 s after creation; a loaded CI machine must not turn this red.
      8000,
      'expired key refused',
    ).catch((err: Error) => {
      throw new Error(`${err.message}; last answer: ${last}`);
    });
    expectProblem(await api(gw, '/hello', reply.json.apiKey), 401, 'invalid_api_key');
    expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(expiresAt));
  });

  it('DELETE revokes a key (204): it is refused at once on this instance and its mapping is gone', async () => {
    const reply = await createKey(T);
    const { apiKey, keyId } = reply.json;
    await expectProxied(apiKey, T); // now cached for 60 s
    const revoked = await admin(gw, 'DELETE', `/admin/tenants/${T}/keys/${keyId}`);
    expect(revoked.status).toBe(204);
    expect(revoked.text).toBe('');
    expectProblem(await api(gw, '/hello', apiKey), 401, 'invalid_api_key');
    expect(await raw.exists(`tenant:byApiKey:${sha256Hex(apiKey)}`)).toBe(0);
    expect(await raw.hexists(`gw:{${T}}:keys`, keyId)).toBe(0);
    const listed = (await admin(gw, 'GET', `/admin/tenants/${T}/keys`)).json.keys.map((k: { keyId: string }) => k.keyId);
    expect(listed).not.toContain(keyId);
    // The other keys are untouched.
    await expectProxied(created.json.apiKey, T);
    expectProblem(await admin(gw, 'DELETE', `/admin/tenants/${T}/keys/${keyId}`), 404, 'key_not_found');
  });

  it('an unknown keyId is 404, and so is a key of another tenant', async () => {
    expectProblem(await admin(gw, 'DELETE', `/admin/tenants/${T}/keys/key_doesnotexist`), 404, 'key_not_found');
    const reply = await admin(gw, 'DELETE', `/admin/tenants/${OTHER}/keys/${created.json.keyId}`);
    expectProblem(reply, 404, 'key_not_found');
    await expectProxied(created.json.apiKey, T);
  });

  it('keys of an unknown tenant are 404 tenant_not_found', async () => {
    const nobody = id('nobody');
    expectProblem(await admin(gw, 'POST', `/admin/tenants/${nobody}/keys`, {}), 404, 'tenant_not_found');
    expectProblem(await admin(gw, 'GET', `/admin/tenants/${nobody}/keys`), 404, 'tenant_not_found');
    expectProblem(await admin(gw, 'DELETE', `/admin/tenants/${nobody}/keys/key_x`), 404, 'tenant_not_found');
    expect(await raw.exists(`gw:{${nobody}}:keys`)).toBe(0);
  });
});

describe('deleting a tenant', () => {
  const T = id('doomed');

  it('removes its key mappings and metadata, and its keys stop working at once (even if it comes back)', async () => {
    await createTenant(T);
    const generated = (await createKey(T)).json.apiKey as string;
    const plain = `sgw_doomed_${randomBytes(16).toString('hex')}`;
    seenKeys.push(plain);
    await createKey(T, { sha256: sha256Hex(plain) });
    await expectProxied(generated, T);
    await expectProxied(plain, T);
    expect(await raw.hlen(`gw:{${T}}:keys`)).toBe(2);

    expect((await admin(gw, 'DELETE', `/admin/tenants/${T}`)).status).toBe(204);
    for (const key of [generated, plain]) {
      expect(await raw.exists(`tenant:byApiKey:${sha256Hex(key)}`)).toBe(0);
      expectProblem(await api(gw, '/hello', key), 401, 'invalid_api_key');
    }
    expect(await raw.exists(`gw:{${T}}:keys`, `tenant:${T}`)).toBe(0);
    const left = (await dumpRedis(raw)).filter(({ key, value }) => key.includes(T) || value === T);
    expect(left).toEqual([]);

    // A new tenant with the same id does not inherit the old keys.
    await createTenant(T);
    for (const key of [generated, plain]) expectProblem(await api(gw, '/hello', key), 401, 'invalid_api_key');
    expect((await admin(gw, 'GET', `/admin/tenants/${T}/keys`)).json.keys).toEqual([]);
  });
});

describe('secrets', () => {
  it('no API key appears in Redis in plain text, in a key name or a value', async () => {
    expect(seenKeys.length).toBeGreaterThanOrEqual(5);
    const dump = await dumpRedis(raw);
    expect(dump.length).toBeGreaterThan(0);
    for (const apiKey of seenKeys) {
      const leaks = dump.filter(({ key, value }) => key.includes(apiKey) || value.includes(apiKey)).map(({ key }) => key);
      expect(leaks).toEqual([]);
    }
  });

  it('no API key nor the admin token appears in the logs', () => {
    const logs = gw.rawLogs();
    expect(logs.length).toBeGreaterThan(0);
    expect(logs).not.toContain(ADMIN_TOKEN);
    for (const apiKey of seenKeys) expect(logs).not.toContain(apiKey);
  });
});

describe('health', () => {
  it('GET /admin/health is 200 {"status":"ok","plane":"control","store":…}', async () => {
    const reply = await admin(gw, 'GET', '/admin/health');
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toMatch(/^application\/json\b/);
    expect(reply.json).toEqual({ status: 'ok', plane: 'control', store: expect.anything() });
    expect(JSON.stringify(reply.json.store)).toContain('redis');
  });

  it('GET /healthz and GET /readyz are 200 without a token, with no details', async () => {
    for (const path of ['/healthz', '/readyz']) {
      const reply = await send(gw.url, 'GET', path);
      expect({ path, status: reply.status }).toEqual({ path, status: 200 });
      expect(reply.text.length).toBeLessThan(100);
      expect(reply.text).not.toMatch(/redis|store|memory|127\.0\.0\.1/i);
    }
  });
});
