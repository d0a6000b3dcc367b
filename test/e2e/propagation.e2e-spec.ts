import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { Metrics } from '../../src/observability/metrics';
import { startGateway, type TestGateway } from '../support/gateway';
import { canOwnServer, startRedis, waitFor, type RedisHandle } from '../support/redis-server';
import { startUpstream, type Upstream } from '../support/upstream';
import { admin, api, cleanupRedis, expectProblem, sha256Hex, startReplicas, waitReady, type Reply } from './helpers/e2e-http';

/**
 * SPEC §6: a change made through the control plane of one replica takes effect on every replica
 * within 1 s; a change written straight into Redis within TENANT_CACHE_TTL_MS. Two gateways (A and B)
 * share one real redis-server; their cache TTL is 60 s, so only invalidation can explain B changing
 * its answer in time. Plus the audit trail of every mutation (SPEC §8, category `admin`).
 */

const RUN = randomBytes(3).toString('hex');
const id = (name: string): string => `${name}-${RUN}`;
const LONG_TTL = { TENANT_CACHE_TTL_MS: '60000' };
/** SPEC §6: every replica within 1 s. */
const PROPAGATION_MS = 1000;
/** How long a poll goes on before giving up, so a miss is reported with its time rather than hanging. */
const POLL_BOUND_MS = 5000;

// Restarting Redis needs a redis-server of our own; a REDIS_URL server is not ours to restart.

let redis: RedisHandle;
let raw: Redis;
let upstream: Upstream;
let a: TestGateway;
let b: TestGateway;
/** Every API key this suite saw, to look for in the logs at the end. */
const seenKeys: string[] = [];

/** Polling loops send hundreds of requests: a limit they cannot reach keeps 429s out of these tests. */
const UNREACHED_LIMIT = { windowSeconds: 1, maxRequests: 1_000_000 };

function tenantBody(tenantId: string, routes: string[] = ['/'], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: tenantId,
    upstreamBaseUrl: `${upstream.url}/svc/${tenantId}`,
    allowedRoutes: routes.map((path) => ({ path })),
    rateLimit: UNREACHED_LIMIT,
    ...extra,
  };
}

async function createTenant(gw: TestGateway, tenantId: string, routes?: string[]): Promise<void> {
  const reply = await admin(gw, 'POST', '/admin/tenants', tenantBody(tenantId, routes));
  expect([reply.status, reply.text]).toEqual([201, reply.text]);
}

async function createKey(gw: TestGateway, tenantId: string, body?: unknown): Promise<{ apiKey: string; keyId: string }> {
  const reply = await admin(gw, 'POST', `/admin/tenants/${tenantId}/keys`, body);
  expect([reply.status, reply.text]).toEqual([201, reply.text]);
  if (typeof reply.json.apiKey === 'string') seenKeys.push(reply.json.apiKey as string);
  return { apiKey: reply.json.apiKey as string, keyId: reply.json.keyId as string };
}

async function expectStatus(gw: TestGateway, path: string, apiKey: string, status: number): Promise<Reply> {
  const reply = await api(gw, path, apiKey);
  expect([reply.status, reply.text.slice(0, 200)]).toEqual([status, reply.text.slice(0, 200)]);
  return reply;
}

/**
 * Calls B until `done(reply)` holds; returns the ms since `since`. Bounded: gives up after POLL_BOUND_MS
 * and reports how long it waited, so a slow propagation fails with its measured time.
 */
async function msUntil(since: number, call: () => Promise<Reply>, done: (reply: Reply) => boolean): Promise<number> {
  for (;;) {
    const reply = await call();
    const elapsed = Date.now() - since;
    if (done(reply)) return elapsed;
    if (elapsed > POLL_BOUND_MS) throw new Error(`still ${reply.status} ${reply.text.slice(0, 120)} after ${elapsed} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Fails with the measured time when B took a second or more. */
function expectWithinPropagation(what: string, elapsedMs: number): void {
  expect({ what, withinOneSecond: elapsedMs < PROPAGATION_MS, elapsedMs }).toEqual({ what, withinOneSecond: true, elapsedMs });
}

beforeAll(async () => {
  redis = await startRedis({ ownServer: canOwnServer });
  raw = redis.client();
  upstream = await startUpstream();
  [a, b] = await startReplicas(redis.url, LONG_TTL);
});

afterAll(async () => {
  await a?.close();
  await b?.close();
  await upstream?.close();
  if (raw && redis && !redis.canRestart) await cleanupRedis(raw, (tenantId) => tenantId.endsWith(`-${RUN}`));
  await redis?.stop();
});

describe('changes through one replica reach the other within 1 s', () => {
  it('a key revoked through A stops working on B', async () => {
    const tenantId = id('revoke');
    await createTenant(a, tenantId);
    const { apiKey, keyId } = await createKey(a, tenantId);
    await expectStatus(b, '/x', apiKey, 200); // B now holds the key and the tenant in its caches

    const sent = Date.now();
    expect((await admin(a, 'DELETE', `/admin/tenants/${tenantId}/keys/${keyId}`)).status).toBe(204);
    const elapsed = await msUntil(sent, () => api(b, '/x', apiKey), (r) => r.status === 401);
    expectWithinPropagation('revoked key refused on B', elapsed);
    expectProblem(await api(b, '/x', apiKey), 401, 'invalid_api_key');
  });

  it('a tenant deleted through A is gone on B', async () => {
    const tenantId = id('delete');
    await createTenant(a, tenantId);
    const { apiKey } = await createKey(a, tenantId);
    await expectStatus(b, '/x', apiKey, 200);

    const sent = Date.now();
    expect((await admin(a, 'DELETE', `/admin/tenants/${tenantId}`)).status).toBe(204);
    const elapsed = await msUntil(sent, () => api(b, '/x', apiKey), (r) => r.status === 401);
    expectWithinPropagation('deleted tenant refused on B', elapsed);
    expectProblem(await api(b, '/x', apiKey), 401, 'invalid_api_key');
  });

  it('a route removed through A is refused on B, a route added is allowed', async () => {
    const tenantId = id('routes');
    await createTenant(a, tenantId, ['/keep', '/drop']);
    const { apiKey } = await createKey(a, tenantId);
    await expectStatus(b, '/drop/1', apiKey, 200);
    await expectStatus(b, '/added/1', apiKey, 403);

    let sent = Date.now();
    expect((await admin(a, 'PUT', `/admin/tenants/${tenantId}`, tenantBody(tenantId, ['/keep']))).status).toBe(200);
    let elapsed = await msUntil(sent, () => api(b, '/drop/1', apiKey), (r) => r.status === 403);
    expectWithinPropagation('removed route refused on B', elapsed);
    expectProblem(await api(b, '/drop/1', apiKey), 403, 'route_not_allowed');

    sent = Date.now();
    expect((await admin(a, 'PUT', `/admin/tenants/${tenantId}`, tenantBody(tenantId, ['/keep', '/added']))).status).toBe(200);
    elapsed = await msUntil(sent, () => api(b, '/added/1', apiKey), (r) => r.status === 200);
    expectWithinPropagation('added route allowed on B', elapsed);
    expect((await expectStatus(b, '/added/1', apiKey, 200)).json.url).toBe(`/svc/${tenantId}/added/1`);
  });

  it('a key created on A works on B even though B had just cached it as unknown', async () => {
    const tenantId = id('newkey');
    await createTenant(a, tenantId);
    const apiKey = `sgw_${randomBytes(24).toString('base64url')}`;
    seenKeys.push(apiKey);
    expectProblem(await api(b, '/x', apiKey), 401, 'invalid_api_key'); // now in B's negative cache

    const sent = Date.now();
    await createKey(a, tenantId, { sha256: sha256Hex(apiKey) });
    const elapsed = await msUntil(sent, () => api(b, '/x', apiKey), (r) => r.status === 200);
    expectWithinPropagation('new key accepted on B', elapsed);
  });

  it('a key with expiresAt works on both replicas, then fails on both once it expires', async () => {
    const tenantId = id('expiring');
    await createTenant(a, tenantId);
    const expiresAtMs = Date.now() + 2000;
    const { apiKey } = await createKey(a, tenantId, { expiresAt: new Date(expiresAtMs).toISOString() });
    await expectStatus(a, '/x', apiKey, 200);
    await expectStatus(b, '/x', apiKey, 200);

    await new Promise((r) => setTimeout(r, Math.max(0, expiresAtMs - Date.now())));
    for (const gw of [a, b]) {
      const late = await msUntil(expiresAtMs, () => api(gw, '/x', apiKey), (r) => r.status === 401);
      expect({ lateMs: late, bounded: late < PROPAGATION_MS }).toEqual({ lateMs: late, bounded: true });
      expectProblem(await api(gw, '/x', apiKey), 401, 'invalid_api_key');
    }
  });
});

describe('TENANTS_FILE loaded by a replica that starts', () => {
  it('reaches the replicas already running once loaded, as an admin change would', async () => {
    const tenantId = id('file');
    const apiKey = `sgw_${randomBytes(24).toString('base64url')}`;
    seenKeys.push(apiKey);
    const write = (routes: string[]) =>
      writeFileSync(file, JSON.stringify({ tenants: [{ ...tenantBody(tenantId, routes), apiKeys: [apiKey] }] }));
    const dir = mkdtempSync(join(tmpdir(), 'gw-file-'));
    const file = join(dir, 'tenants.json');
    write(['/old']);
    const first = await startGateway({ REDIS_URL: redis.url, ...LONG_TTL, TENANTS_FILE: file });
    let second: TestGateway | undefined;
    try {
      await expectStatus(b, '/old/1', apiKey, 200); // B caches the tenant for 60 s
      write(['/new']);
      const started = Date.now();
      second = await startGateway({ REDIS_URL: redis.url, ...LONG_TTL, TENANTS_FILE: file });
      const elapsed = await msUntil(started, () => api(b, '/old/1', apiKey), (r) => r.status === 403);
      // Measured from the start of the replica that loads the file, its own start-up included.
      expect({ elapsed, withinStartAndPropagation: elapsed < 5000 }).toEqual({ elapsed, withinStartAndPropagation: true });
      await expectStatus(b, '/new/1', apiKey, 200);
    } finally {
      await second?.close();
      await first.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('tenants written straight into Redis', () => {
  it('appear in /admin/tenants and /admin/routes, invalid ones apart', async () => {
    const handId = id('hand');
    const brokenId = id('hand-broken');
    await raw.set(
      `tenant:${handId}`,
      JSON.stringify({
        id: handId,
        upstreamBaseUrl: `${upstream.url}/svc/${handId}`,
        idp: { issuer: 'https://auth.example.com', jwksUri: 'https://auth.example.com/jwks.json' },
        allowedRoutes: [{ path: '/v1/users', methods: ['GET'] }, { path: '/public', auth: { jwt: false } }],
      }),
    );
    await raw.set(`tenant:${brokenId}`, JSON.stringify({ id: brokenId, allowedRoutes: [{ path: '/' }] }));

    const tenants = await admin(b, 'GET', '/admin/tenants');
    expect(tenants.status).toBe(200);
    expect(tenants.json.tenants.map((t: { id: string }) => t.id)).toContain(handId);
    expect(tenants.json.invalidTenants.map((t: { id: string }) => t.id)).toContain(brokenId);

    const routes = await admin(b, 'GET', '/admin/routes');
    expect(routes.status).toBe(200);
    expect(routes.json.routes.filter((r: { tenantId: string }) => r.tenantId === handId)).toEqual([
      { tenantId: handId, tenantDisabled: false, path: '/v1/users', methods: ['GET'], jwtRequired: true, jwtSource: 'idp' },
      { tenantId: handId, tenantDisabled: false, path: '/public', methods: null, jwtRequired: false, jwtSource: 'route' },
    ]);
    const broken = routes.json.invalidTenants.find((t: { id: string }) => t.id === brokenId);
    expect(broken.errors).toEqual(expect.arrayContaining([expect.objectContaining({ path: 'upstreamBaseUrl' })]));
    expect(routes.json.routes.some((r: { tenantId: string }) => r.tenantId === brokenId)).toBe(false);
  });

  it('/admin/routes needs the admin token', async () => {
    expectProblem(await admin(b, 'GET', '/admin/routes', undefined, null), 401, 'invalid_admin_token');
  });

  it('a hand-written change is served after TENANT_CACHE_TTL_MS (cached until then)', async () => {
    const ttlMs = 1500;
    const short = await startGateway({ REDIS_URL: redis.url, TENANT_CACHE_TTL_MS: String(ttlMs) });
    try {
      await waitReady(short);
      const tenantId = id('hand-ttl');
      const apiKey = `sgw_${randomBytes(24).toString('base64url')}`;
      seenKeys.push(apiKey);
      await raw.set(`tenant:${tenantId}`, JSON.stringify(tenantBody(tenantId, ['/old'])));
      await raw.set(`tenant:byApiKey:${sha256Hex(apiKey)}`, tenantId);
      await expectStatus(short, '/old/1', apiKey, 200);

      const written = Date.now();
      await raw.set(`tenant:${tenantId}`, JSON.stringify(tenantBody(tenantId, ['/new'])));
      // No message was published: the cached tenant still answers.
      await expectStatus(short, '/old/1', apiKey, 200);
      const elapsed = await msUntil(written, () => api(short, '/old/1', apiKey), (r) => r.status === 403);
      expect({ elapsed, withinTtl: elapsed <= ttlMs + 500 }).toEqual({ elapsed, withinTtl: true });
      await expectStatus(short, '/new/1', apiKey, 200);
    } finally {
      await short.close();
    }
  });
});

(canOwnServer ? describe : describe.skip)('a replica whose subscription was lost', () => {
  it('drops its caches when it subscribes again: a change it could not hear is served at once', async () => {
    const tenantId = id('resync');
    await createTenant(a, tenantId, ['/before']);
    const { apiKey } = await createKey(a, tenantId);
    await expectStatus(b, '/before/1', apiKey, 200); // cached by B, for 60 s
    const subscribedBefore = b.logs.filter((l) => l.event === 'invalidation_subscribed').length;

    // A fresh, empty server on the same port: no message about what follows can reach B.
    await redis.restart();
    await raw.set(`tenant:${tenantId}`, JSON.stringify(tenantBody(tenantId, ['/after'])));
    await raw.set(`tenant:byApiKey:${sha256Hex(apiKey)}`, tenantId);
    await waitFor(
      () => b.logs.filter((l) => l.event === 'invalidation_subscribed').length > subscribedBefore,
      10_000,
      'B subscribed again',
    );

    // Well within the 60 s TTL: only the resync explains the new answer.
    const since = Date.now();
    const elapsed = await msUntil(since, () => api(b, '/before/1', apiKey), (r) => r.status === 403);
    expect(elapsed).toBeLessThan(PROPAGATION_MS);
    expectProblem(await api(b, '/before/1', apiKey), 403, 'route_not_allowed');
    await expectStatus(b, '/after/1', apiKey, 200);
    // Lost and regained subscriptions are logged (category system) for operators.
    expect(b.logs.some((l) => l.event === 'invalidation_subscription_lost' && l.category === 'system')).toBe(true);
    await waitReady(a);
  });
});

describe('audit trail', () => {
  async function mutationCount(gw: TestGateway, action: string): Promise<number> {
    const metric = await gw.app.get(Metrics).controlMutations.get();
    return metric.values.find((v) => v.labels.action === action)?.value ?? 0;
  }

  /** Runs one admin call and returns its reply, the admin lines it wrote and how far the metric moved. */
  async function audited(method: string, path: string, body: unknown, action: string) {
    const before = await mutationCount(a, action);
    const reply = await admin(a, method, path, body);
    const requestId = reply.headers['x-request-id'];
    // The line is written before the response is sent.
    const lines = a.logs.filter((l) => l.category === 'admin' && l.requestId === requestId);
    return { reply, lines, counted: (await mutationCount(a, action)) - before };
  }

  it('writes exactly one admin line per mutation and counts successes only', async () => {
    const tenantId = id('audit');
    const created = await audited('POST', '/admin/tenants', tenantBody(tenantId), 'tenant_create');
    expect(created.reply.status).toBe(201);
    expect(created.counted).toBe(1);
    expect(created.lines).toEqual([
      expect.objectContaining({ category: 'admin', action: 'tenant_create', tenantId, outcome: 'success', requestId: created.reply.headers['x-request-id'] }),
    ]);
    expect(String(created.lines[0].ip)).toMatch(/127\.0\.0\.1$/);

    const duplicate = await audited('POST', '/admin/tenants', tenantBody(tenantId), 'tenant_create');
    expect(duplicate.reply.status).toBe(409);
    expect([duplicate.counted, duplicate.lines.length, duplicate.lines[0]?.outcome]).toEqual([0, 1, 'tenant_exists']);

    const invalid = await audited('POST', '/admin/tenants', { id: id('audit-bad') }, 'tenant_create');
    expect([invalid.reply.status, invalid.counted, invalid.lines.length, invalid.lines[0]?.outcome]).toEqual([400, 0, 1, 'invalid_tenant']);

    const updated = await audited('PUT', `/admin/tenants/${tenantId}`, tenantBody(tenantId, ['/v2']), 'tenant_update');
    expect([updated.reply.status, updated.counted]).toEqual([200, 1]);
    expect(updated.lines).toEqual([expect.objectContaining({ action: 'tenant_update', tenantId, outcome: 'success' })]);

    const putNew = id('audit-put');
    const putCreated = await audited('PUT', `/admin/tenants/${putNew}`, tenantBody(putNew), 'tenant_create');
    expect([putCreated.reply.status, putCreated.counted]).toEqual([201, 1]);
    expect(putCreated.lines).toEqual([expect.objectContaining({ action: 'tenant_create', tenantId: putNew, outcome: 'success' })]);

    const key = await audited('POST', `/admin/tenants/${tenantId}/keys`, undefined, 'key_create');
    const apiKey = key.reply.json.apiKey as string;
    seenKeys.push(apiKey);
    expect([key.reply.status, key.counted]).toEqual([201, 1]);
    expect(key.lines).toEqual([
      expect.objectContaining({ action: 'key_create', tenantId, keyId: key.reply.json.keyId, outcome: 'success' }),
    ]);

    const byHash = `sgw_${randomBytes(24).toString('base64url')}`;
    seenKeys.push(byHash);
    const registered = await audited('POST', `/admin/tenants/${tenantId}/keys`, { sha256: sha256Hex(byHash) }, 'key_create');
    expect([registered.reply.status, registered.counted, registered.lines.length]).toEqual([201, 1, 1]);

    const revoked = await audited('DELETE', `/admin/tenants/${tenantId}/keys/${key.reply.json.keyId}`, undefined, 'key_revoke');
    expect([revoked.reply.status, revoked.counted]).toEqual([204, 1]);
    expect(revoked.lines).toEqual([
      expect.objectContaining({ action: 'key_revoke', tenantId, keyId: key.reply.json.keyId, outcome: 'success' }),
    ]);

    const revokedAgain = await audited('DELETE', `/admin/tenants/${tenantId}/keys/${key.reply.json.keyId}`, undefined, 'key_revoke');
    expect([revokedAgain.reply.status, revokedAgain.counted, revokedAgain.lines[0]?.outcome]).toEqual([404, 0, 'key_not_found']);
    expect(revokedAgain.lines).toHaveLength(1);

    const deleted = await audited('DELETE', `/admin/tenants/${tenantId}`, undefined, 'tenant_delete');
    expect([deleted.reply.status, deleted.counted]).toEqual([204, 1]);
    expect(deleted.lines).toEqual([expect.objectContaining({ action: 'tenant_delete', tenantId, outcome: 'success' })]);

    const deletedAgain = await audited('DELETE', `/admin/tenants/${tenantId}`, undefined, 'tenant_delete');
    expect([deletedAgain.reply.status, deletedAgain.counted, deletedAgain.lines.length, deletedAgain.lines[0]?.outcome]).toEqual([
      404,
      0,
      1,
      'tenant_not_found',
    ]);

    // Reads are not mutations: no admin line.
    const read = await audited('GET', `/admin/tenants/${putNew}`, undefined, 'tenant_update');
    expect([read.reply.status, read.lines.length]).toEqual([200, 0]);

    // Every admin line has exactly the documented fields.
    for (const line of a.logs.filter((l) => l.category === 'admin')) {
      const fields = Object.keys(line).filter((k) => !['level', 'time', 'msg'].includes(k));
      const expected = ['category', 'action', 'tenantId', 'outcome', 'seq', 'actor', 'ip', 'requestId'];
      if (String(line.action).startsWith('key_')) expected.push('keyId');
      if (String(line.action).startsWith('token_')) expected.push('tokenId');
      // SPEC §14: a success names its audit entry, a failure has none.
      expect(typeof line.seq === 'number').toBe(line.outcome === 'success');
      expect(fields.sort()).toEqual(expected.sort());
    }
  });

  it('no key, hash or admin token appears in any replica log', () => {
    expect(seenKeys.length).toBeGreaterThan(3);
    for (const gw of [a, b]) {
      const text = gw.rawLogs();
      for (const key of seenKeys) {
        expect(text).not.toContain(key);
        expect(text).not.toContain(sha256Hex(key));
      }
      expect(text).not.toContain(gw.config.adminToken);
    }
  });
});
