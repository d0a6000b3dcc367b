import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { startGateway, type TestGateway } from '../support/gateway';
import { canOwnServer, startRedis, waitFor, type RedisHandle } from '../support/redis-server';
import { startUpstream, type Upstream } from '../support/upstream';
import { admin, api, cleanupRedis, expectProblem, send, sha256Hex, startReplicas, waitReady, type Reply } from './helpers/e2e-http';

/**
 * SPEC §13 and the key parts of §17 end to end: key names, per-key limits taken with the tenant's in
 * one script, suspension, PATCH, expired keys listed, and TENANTS_FILE keys that keep their identity
 * across restarts. Two replicas (A and B) share one real redis-server; their cache TTL is 60 s, so a
 * change seen on B within 1 s came through the invalidation bus.
 */

const RUN = randomBytes(3).toString('hex');
const id = (name: string): string => `kl-${name}-${RUN}`;
const HOUR = 3600;
const POLL_BOUND_MS = 5000;

let redis: RedisHandle;
let raw: Redis;
let upstream: Upstream;
let a: TestGateway;
let b: TestGateway;

async function createTenant(tenantId: string, rateLimit = { windowSeconds: HOUR, maxRequests: 1000 }, extra: Record<string, unknown> = {}): Promise<void> {
  const body = { id: tenantId, upstreamBaseUrl: `${upstream.url}/svc`, allowedRoutes: [{ path: '/' }], rateLimit, ...extra };
  const reply = await admin(a, 'POST', '/admin/tenants', body);
  expect([reply.status, reply.text]).toEqual([201, reply.text]);
}

async function createKey(tenantId: string, body: Record<string, unknown> = {}): Promise<{ apiKey: string; keyId: string; json: Record<string, unknown> }> {
  const reply = await admin(a, 'POST', `/admin/tenants/${tenantId}/keys`, body);
  expect([reply.status, reply.text]).toEqual([201, reply.text]);
  return { apiKey: reply.json.apiKey as string, keyId: reply.json.keyId as string, json: reply.json as Record<string, unknown> };
}

const patch = (gw: TestGateway, tenantId: string, keyId: string, body: unknown): Promise<Reply> =>
  admin(gw, 'PATCH', `/admin/tenants/${tenantId}/keys/${keyId}`, body);

/** Polls B until `done`; the ms it took, or a failure naming the last answer after POLL_BOUND_MS. */
async function msUntil(since: number, call: () => Promise<Reply>, done: (reply: Reply) => boolean): Promise<number> {
  for (;;) {
    const reply = await call();
    const elapsed = Date.now() - since;
    if (done(reply)) return elapsed;
    if (elapsed > POLL_BOUND_MS) throw new Error(`still ${reply.status} ${reply.text.slice(0, 120)} after ${elapsed} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

beforeAll(async () => {
  redis = await startRedis({ ownServer: canOwnServer });
  raw = redis.client();
  upstream = await startUpstream();
  [a, b] = await startReplicas(redis.url, { TENANT_CACHE_TTL_MS: '60000' });
});

afterAll(async () => {
  await a?.close();
  await b?.close();
  await upstream?.close();
  if (raw && redis && !redis.canRestart) await cleanupRedis(raw, (tenantId) => tenantId.endsWith(`-${RUN}`));
  await redis?.stop();
});

describe('key metadata and PATCH', () => {
  it('creates a key with a name and its own limit, and lists them', async () => {
    const tenantId = id('meta');
    await createTenant(tenantId);
    const created = await createKey(tenantId, { name: 'billing batch ☕', rateLimit: { windowSeconds: 60, maxRequests: 5 } });
    expect(created.json).toMatchObject({ name: 'billing batch ☕', rateLimit: { windowSeconds: 60, maxRequests: 5 }, disabled: false, expired: false });
    const listed = await admin(a, 'GET', `/admin/tenants/${tenantId}/keys`);
    expect(listed.json.keys).toEqual([
      {
        keyId: created.keyId,
        name: 'billing batch ☕',
        createdAt: created.json.createdAt,
        expiresAt: null,
        expired: false,
        disabled: false,
        rateLimit: { windowSeconds: 60, maxRequests: 5 },
        fingerprint: sha256Hex(created.apiKey).slice(-4),
      },
    ]);
  });

  it('PATCH changes and clears fields, answering the metadata; counts key_update and audits it', async () => {
    const tenantId = id('patch');
    await createTenant(tenantId);
    const { keyId, apiKey } = await createKey(tenantId, { name: 'old' });
    const future = new Date(Date.now() + 86_400_000).toISOString();
    const changed = await patch(a, tenantId, keyId, { name: 'new', rateLimit: { windowSeconds: 10, maxRequests: 2 }, expiresAt: future });
    expect([changed.status, changed.json]).toEqual([
      200,
      expect.objectContaining({ keyId, name: 'new', rateLimit: { windowSeconds: 10, maxRequests: 2 }, expiresAt: future, disabled: false }),
    ]);
    const cleared = await patch(a, tenantId, keyId, { name: null, rateLimit: null, expiresAt: null });
    expect(cleared.json).toMatchObject({ name: null, rateLimit: null, expiresAt: null });
    expect(cleared.text).not.toContain(sha256Hex(apiKey));
    const metrics = await send(a.url, 'GET', '/metrics', { headers: { 'X-Admin-Token': a.config.adminToken! } });
    expect(metrics.text).toMatch(/control_mutations_total\{action="key_update"\} 2/);
    expect(a.logs.filter((l) => l.action === 'key_update' && l.keyId === keyId && l.outcome === 'success')).toHaveLength(2);
  });

  it('refuses a bad PATCH with every problem, and an unknown key or tenant with 404', async () => {
    const tenantId = id('badpatch');
    await createTenant(tenantId);
    const { keyId } = await createKey(tenantId);
    const bad = await patch(a, tenantId, keyId, {
      name: '',
      rateLimit: { windowSeconds: 0, maxRequests: 1 },
      expiresAt: '2001-01-01T00:00:00Z',
      disabled: 'yes',
      colour: 'red',
    });
    expectProblem(bad, 400, 'invalid_request');
    expect(bad.json.errors.map((e: { path: string }) => e.path).sort()).toEqual(['colour', 'disabled', 'expiresAt', 'name', 'rateLimit.windowSeconds']);
    expectProblem(await patch(a, tenantId, 'key_nope', { disabled: true }), 404, 'key_not_found');
    expectProblem(await patch(a, id('ghost'), keyId, { disabled: true }), 404, 'tenant_not_found');
  });

  it('lists an expired key with "expired": true until it is revoked', async () => {
    const tenantId = id('expired');
    await createTenant(tenantId);
    const { keyId, apiKey } = await createKey(tenantId, { expiresAt: new Date(Date.now() + 1500).toISOString() });
    expect((await api(a, '/x', apiKey)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1600));
    expectProblem(await api(a, '/x', apiKey), 401, 'invalid_api_key');
    const listed = await admin(a, 'GET', `/admin/tenants/${tenantId}/keys`);
    expect(listed.json.keys).toEqual([expect.objectContaining({ keyId, expired: true })]);
    expect((await admin(a, 'DELETE', `/admin/tenants/${tenantId}/keys/${keyId}`)).status).toBe(204);
    expect((await admin(a, 'GET', `/admin/tenants/${tenantId}/keys`)).json.keys).toEqual([]);
  });
});

describe('suspension (disabled)', () => {
  it('answers 403 key_disabled on the other replica within 1 s, and re-enabling restores the key there', async () => {
    const tenantId = id('suspend');
    await createTenant(tenantId);
    const { keyId, apiKey } = await createKey(tenantId);
    expect((await api(b, '/x', apiKey)).status).toBe(200); // cached on B

    let sent = Date.now();
    expect((await patch(a, tenantId, keyId, { disabled: true })).status).toBe(200);
    let elapsed = await msUntil(sent, () => api(b, '/x', apiKey), (r) => r.status === 403);
    expect({ elapsed, within: elapsed < 1000 }).toEqual({ elapsed, within: true });
    const refused = await api(b, '/x', apiKey);
    expectProblem(refused, 403, 'key_disabled');
    expect(refused.headers['ratelimit-limit']).toBe('1000');
    expect((await admin(a, 'GET', `/admin/tenants/${tenantId}/keys`)).json.keys[0]).toMatchObject({ keyId, disabled: true });

    sent = Date.now();
    expect((await patch(a, tenantId, keyId, { disabled: false })).status).toBe(200);
    elapsed = await msUntil(sent, () => api(b, '/x', apiKey), (r) => r.status === 200);
    expect({ elapsed, within: elapsed < 1000 }).toEqual({ elapsed, within: true });
  });

  it('checks in SPEC order: unknown or expired key, then disabled tenant, then disabled key', async () => {
    const tenantId = id('order');
    await createTenant(tenantId);
    const { keyId, apiKey } = await createKey(tenantId);
    await patch(a, tenantId, keyId, { disabled: true });
    expectProblem(await api(a, '/x', apiKey), 403, 'key_disabled');
    const tenant = (await admin(a, 'GET', `/admin/tenants/${tenantId}`)).json;
    expect((await admin(a, 'PUT', `/admin/tenants/${tenantId}`, { ...tenant, disabled: true })).status).toBe(200);
    expectProblem(await api(a, '/x', apiKey), 403, 'tenant_disabled');
    await patch(a, tenantId, keyId, { expiresAt: new Date(Date.now() + 300).toISOString() });
    await new Promise((r) => setTimeout(r, 400));
    expectProblem(await api(a, '/x', apiKey), 401, 'invalid_api_key');
  });

  it('is shown by explain, which stops there', async () => {
    const tenantId = id('explain');
    await createTenant(tenantId);
    const { keyId, apiKey } = await createKey(tenantId);
    await patch(a, tenantId, keyId, { disabled: true });
    const said = await admin(a, 'POST', '/admin/explain', { apiKey, method: 'GET', path: '/x' });
    expect(said.json).toMatchObject({ decision: 'deny', status: 403, code: 'key_disabled' });
    expect(said.json.steps.at(-1)).toMatchObject({ step: 'api_key', ok: false, code: 'key_disabled', keyId, keyDisabled: true });
    expect(said.text).not.toContain(apiKey);
  });
});

describe("a key's own rate limit", () => {
  it('describes the bucket with fewer tokens left (the key on a tie) and waits for both on a 429', async () => {
    const tenantId = id('headers');
    await createTenant(tenantId, { windowSeconds: HOUR, maxRequests: 4 });
    const limited = await createKey(tenantId, { rateLimit: { windowSeconds: 2 * HOUR, maxRequests: 2 } });
    const plain = await createKey(tenantId);

    let reply = await api(a, '/x', limited.apiKey);
    // Tenant 3 of 4 left, key 1 of 2: the key's.
    expect([reply.headers['ratelimit-limit'], reply.headers['ratelimit-remaining'], reply.headers['ratelimit-reset']]).toEqual(['2', '1', '3600']);
    reply = await api(a, '/x', plain.apiKey);
    expect([reply.headers['ratelimit-limit'], reply.headers['ratelimit-remaining']]).toEqual(['4', '2']);
    reply = await api(b, '/x', limited.apiKey);
    // Tenant 1 left, key 0: the key's.
    expect([reply.status, reply.headers['ratelimit-limit'], reply.headers['ratelimit-remaining']]).toEqual([200, '2', '0']);
    reply = await api(a, '/x', limited.apiKey);
    expectProblem(reply, 429, 'rate_limited');
    // The key's bucket refills one token per hour; the tenant's has one now.
    expect(reply.headers['retry-after']).toBe('3600');
    reply = await api(a, '/x', plain.apiKey);
    expect([reply.status, reply.headers['ratelimit-limit'], reply.headers['ratelimit-remaining']]).toEqual([200, '4', '0']);
    reply = await api(a, '/x', limited.apiKey);
    // Both empty now: the key's wait is the longer.
    expect([reply.status, reply.headers['retry-after'], reply.headers['ratelimit-limit']]).toEqual([429, '3600', '2']);
    const said = await admin(a, 'POST', '/admin/explain', { apiKey: limited.apiKey, method: 'GET', path: '/x' });
    expect(said.json.steps.at(-1)).toMatchObject({
      step: 'rate_limit',
      ok: false,
      code: 'rate_limited',
      bucket: 'key',
      tenantBucket: { limit: 4, remaining: 0 },
      keyBucket: { limit: 2, remaining: 0 },
      retryAfterSeconds: 3600,
    });
  });

  it('is exact across two replicas: concurrent requests admit the key limit, and take that many from the tenant', async () => {
    const tenantId = id('exact');
    await createTenant(tenantId, { windowSeconds: HOUR, maxRequests: 50 });
    const { apiKey } = await createKey(tenantId, { rateLimit: { windowSeconds: HOUR, maxRequests: 7 } });
    const replies = await Promise.all(Array.from({ length: 40 }, (_, i) => api(i % 2 === 0 ? a : b, '/x', apiKey)));
    expect(replies.filter((r) => r.status === 200)).toHaveLength(7);
    expect(replies.filter((r) => r.status === 429)).toHaveLength(33);
    const other = await createKey(tenantId);
    const next = await api(b, '/x', other.apiKey);
    expect([next.status, next.headers['ratelimit-remaining']]).toEqual([200, '42']);
  });

  it("admits the tenant's limit, not more, when the key's own limit is larger", async () => {
    const tenantId = id('tenantfirst');
    await createTenant(tenantId, { windowSeconds: HOUR, maxRequests: 5 });
    const { apiKey } = await createKey(tenantId, { rateLimit: { windowSeconds: HOUR, maxRequests: 100 } });
    const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => api(i % 2 === 0 ? a : b, '/x', apiKey)));
    expect(replies.filter((r) => r.status === 200)).toHaveLength(5);
    const said = await admin(b, 'POST', '/admin/explain', { apiKey, method: 'GET', path: '/x' });
    // Neither bucket gave a token to the refused requests: the key's holds 95.
    expect(said.json.steps.at(-1)).toMatchObject({ keyBucket: { remaining: 95 }, tenantBucket: { remaining: 0 }, bucket: 'tenant' });
  });
});

describe('TENANTS_FILE keys across restarts (SPEC §17)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'kl-file-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('keep keyId, createdAt and what the API set on them', async () => {
    const tenantId = id('file');
    const apiKey = `file-key-${randomBytes(12).toString('hex')}`;
    const file = join(dir, 'tenants.json');
    writeFileSync(file, JSON.stringify({ tenants: [{ id: tenantId, upstreamBaseUrl: `${upstream.url}/svc`, allowedRoutes: [{ path: '/' }], apiKeys: [apiKey] }] }));
    const first = await startGateway({ REDIS_URL: redis.url, TENANTS_FILE: file });
    let listed: Reply;
    try {
      await waitReady(first);
      await waitFor(async () => (await admin(first, 'GET', `/admin/tenants/${tenantId}/keys`)).json?.keys?.length === 1, 5000, 'file key');
      listed = await admin(first, 'GET', `/admin/tenants/${tenantId}/keys`);
      const { keyId } = listed.json.keys[0];
      expect((await patch(first, tenantId, keyId, { name: 'from the file', disabled: true, rateLimit: { windowSeconds: 60, maxRequests: 3 } })).status).toBe(200);
    } finally {
      await first.close();
    }
    await new Promise((r) => setTimeout(r, 20));
    const second = await startGateway({ REDIS_URL: redis.url, TENANTS_FILE: file });
    try {
      await waitReady(second);
      await waitFor(() => second.logs.some((l) => l.msg === 'TENANTS_FILE loaded'), 5000, 'file loaded');
      const again = await admin(second, 'GET', `/admin/tenants/${tenantId}/keys`);
      expect(again.json.keys).toEqual([
        { ...listed.json.keys[0], name: 'from the file', disabled: true, rateLimit: { windowSeconds: 60, maxRequests: 3 } },
      ]);
      expectProblem(await api(second, '/x', apiKey), 403, 'key_disabled');
      // Loading the file is not an audited mutation.
      expect(second.logs.filter((l) => l.category === 'admin')).toEqual([]);
    } finally {
      await second.close();
    }
  });

  it('give a key they add the name, rate limit, suspension and expiry the file writes for it; a key already there keeps what the API set', async () => {
    const tenantId = id('filefields');
    const apiKey = `file-key-${randomBytes(12).toString('hex')}`;
    const expiresAt = new Date(Date.now() + 86_400_000).toISOString();
    const file = join(dir, 'fields.json');
    const write = (name: string) =>
      writeFileSync(
        file,
        JSON.stringify({
          tenants: [{ id: tenantId, upstreamBaseUrl: `${upstream.url}/svc`, allowedRoutes: [{ path: '/' }], apiKeys: [{ key: apiKey, name, disabled: true, rateLimit: { windowSeconds: 60, maxRequests: 3 }, expiresAt }] }],
        }),
      );
    write('from the file');
    const first = await startGateway({ REDIS_URL: redis.url, TENANTS_FILE: file });
    try {
      await waitReady(first);
      await waitFor(async () => (await admin(first, 'GET', `/admin/tenants/${tenantId}/keys`)).json?.keys?.length === 1, 5000, 'file key');
      const [key] = (await admin(first, 'GET', `/admin/tenants/${tenantId}/keys`)).json.keys;
      expect(key).toMatchObject({ name: 'from the file', disabled: true, rateLimit: { windowSeconds: 60, maxRequests: 3 }, expiresAt, expired: false });
      expectProblem(await api(first, '/x', apiKey), 403, 'key_disabled');
      expect((await patch(first, tenantId, key.keyId, { name: 'by the API' })).status).toBe(200);
    } finally {
      await first.close();
    }
    write('changed in the file');
    const second = await startGateway({ REDIS_URL: redis.url, TENANTS_FILE: file });
    try {
      await waitReady(second);
      await waitFor(() => second.logs.some((l) => l.msg === 'TENANTS_FILE loaded'), 5000, 'file loaded');
      expect((await admin(second, 'GET', `/admin/tenants/${tenantId}/keys`)).json.keys).toEqual([expect.objectContaining({ name: 'by the API' })]);
    } finally {
      await second.close();
    }
  });
});
