import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { TestGateway } from '../support/gateway';
import { canOwnServer, startRedis, waitFor, type RedisHandle } from '../support/redis-server';
import { startUpstream, type Upstream } from '../support/upstream';
import { admin, api, cleanupRedis, dumpRedis, expectProblem, sha256Hex, startReplicas, type Reply } from './helpers/e2e-http';

/**
 * SPEC §12 end to end: tenant-scoped admin tokens on two replicas sharing one real redis-server.
 * Every admin route is driven with the operator token, an own-tenant admin and viewer token, another
 * tenant's admin token, an expired and a revoked token; the expected answer of each comes from the
 * one table below.
 */

const RUN = randomBytes(3).toString('hex');
const id = (name: string): string => `tt-${name}-${RUN}`;
const ACME = id('acme');
const GLOBEX = id('globex');

type Who = 'operator' | 'admin' | 'viewer' | 'other' | 'expired' | 'revoked';
const WHO: readonly Who[] = ['operator', 'admin', 'viewer', 'other', 'expired', 'revoked'];

let redis: RedisHandle;
let raw: Redis;
let upstream: Upstream;
let a: TestGateway;
let b: TestGateway;
const tokens = {} as Record<Who, string | null>;
/** Every secret this suite was shown, to look for in Redis and in the logs. */
const secrets: string[] = [];

function tenantBody(tenantId: string): Record<string, unknown> {
  return { id: tenantId, upstreamBaseUrl: `${upstream.url}/svc/${tenantId}`, allowedRoutes: [{ path: '/' }] };
}

async function ok(reply: Promise<Reply>, status: number): Promise<Reply> {
  const r = await reply;
  expect([r.status, r.text.slice(0, 300)]).toEqual([status, r.text.slice(0, 300)]);
  return r;
}

async function issue(gw: TestGateway, tenantId: string, body: Record<string, unknown>): Promise<{ token: string; tokenId: string }> {
  const r = await ok(admin(gw, 'POST', `/admin/tenants/${tenantId}/tokens`, body), 201);
  secrets.push(r.json.token as string);
  return { token: r.json.token as string, tokenId: r.json.tokenId as string };
}

async function newKey(tenantId: string): Promise<string> {
  const r = await ok(admin(a, 'POST', `/admin/tenants/${tenantId}/keys`, {}), 201);
  secrets.push(r.json.apiKey as string);
  return r.json.keyId as string;
}

beforeAll(async () => {
  redis = await startRedis({ ownServer: canOwnServer });
  raw = redis.client();
  upstream = await startUpstream();
  [a, b] = await startReplicas(redis.url, { TENANT_CACHE_TTL_MS: '60000' });
  for (const tenantId of [ACME, GLOBEX]) await ok(admin(a, 'POST', '/admin/tenants', tenantBody(tenantId)), 201);
  tokens.operator = a.config.adminToken;
  tokens.admin = (await issue(a, ACME, { role: 'admin', name: 'acme ops' })).token;
  tokens.viewer = (await issue(a, ACME, { role: 'viewer' })).token;
  tokens.other = (await issue(a, GLOBEX, { role: 'admin' })).token;
  tokens.expired = (await issue(a, ACME, { role: 'admin', expiresAt: new Date(Date.now() + 500).toISOString() })).token;
  const revoked = await issue(a, ACME, { role: 'admin' });
  tokens.revoked = revoked.token;
  await ok(admin(a, 'DELETE', `/admin/tenants/${ACME}/tokens/${revoked.tokenId}`), 204);
  await new Promise((r) => setTimeout(r, 600));
});

afterAll(async () => {
  await a?.close();
  await b?.close();
  await upstream?.close();
  if (raw && redis && !redis.canRestart) await cleanupRedis(raw, (tenantId) => tenantId.endsWith(`-${RUN}`));
  await redis?.stop();
});

interface Case {
  route: string;
  method: string;
  /** The path, given who asks (routes that consume what they name get a fresh one each). */
  path: (who: Who) => Promise<string> | string;
  body?: (who: Who) => unknown;
  /** Expected status per principal; expired and revoked are always 401. */
  expect: Record<'operator' | 'admin' | 'viewer' | 'other', number>;
}

const spareTenant = async (who: Who): Promise<string> => {
  const tenantId = id(`spare-${who}-${randomBytes(2).toString('hex')}`);
  await ok(admin(a, 'POST', '/admin/tenants', tenantBody(tenantId)), 201);
  return tenantId;
};

/** THE table: every admin route, and what each principal gets on it for tenant ACME. */
const CASES: Case[] = [
  { route: 'GET /admin/health', method: 'GET', path: () => '/admin/health', expect: { operator: 200, admin: 403, viewer: 403, other: 403 } },
  { route: 'GET /admin/routes', method: 'GET', path: () => '/admin/routes', expect: { operator: 200, admin: 200, viewer: 200, other: 200 } },
  { route: 'GET /admin/openapi.json', method: 'GET', path: () => '/admin/openapi.json', expect: { operator: 200, admin: 200, viewer: 200, other: 200 } },
  { route: 'GET /admin/tenants', method: 'GET', path: () => '/admin/tenants', expect: { operator: 200, admin: 200, viewer: 200, other: 200 } },
  {
    route: 'POST /admin/tenants',
    method: 'POST',
    path: () => '/admin/tenants',
    body: (who) => tenantBody(id(`new-${who}`)),
    expect: { operator: 201, admin: 403, viewer: 403, other: 403 },
  },
  { route: 'GET /admin/tenants/:id', method: 'GET', path: () => `/admin/tenants/${ACME}`, expect: { operator: 200, admin: 200, viewer: 200, other: 404 } },
  {
    route: 'PUT /admin/tenants/:id',
    method: 'PUT',
    path: () => `/admin/tenants/${ACME}`,
    body: () => tenantBody(ACME),
    expect: { operator: 200, admin: 403, viewer: 403, other: 403 },
  },
  {
    route: 'PATCH /admin/tenants/:id',
    method: 'PATCH',
    path: () => `/admin/tenants/${ACME}`,
    body: () => ({ name: 'ACME' }),
    expect: { operator: 200, admin: 403, viewer: 403, other: 403 },
  },
  {
    route: 'DELETE /admin/tenants/:id',
    method: 'DELETE',
    path: async (who) => `/admin/tenants/${await spareTenant(who)}`,
    expect: { operator: 204, admin: 403, viewer: 403, other: 403 },
  },
  {
    route: 'POST /admin/tenants/:id/keys',
    method: 'POST',
    path: () => `/admin/tenants/${ACME}/keys`,
    body: () => ({ name: 'made by a token' }),
    expect: { operator: 201, admin: 201, viewer: 403, other: 404 },
  },
  { route: 'GET /admin/tenants/:id/keys', method: 'GET', path: () => `/admin/tenants/${ACME}/keys`, expect: { operator: 200, admin: 200, viewer: 200, other: 404 } },
  {
    route: 'PATCH /admin/tenants/:id/keys/:keyId',
    method: 'PATCH',
    path: async () => `/admin/tenants/${ACME}/keys/${await newKey(ACME)}`,
    body: () => ({ disabled: true }),
    expect: { operator: 200, admin: 200, viewer: 403, other: 404 },
  },
  {
    route: 'DELETE /admin/tenants/:id/keys/:keyId',
    method: 'DELETE',
    path: async () => `/admin/tenants/${ACME}/keys/${await newKey(ACME)}`,
    expect: { operator: 204, admin: 204, viewer: 403, other: 404 },
  },
  {
    route: 'POST /admin/tenants/:id/tokens',
    method: 'POST',
    path: () => `/admin/tenants/${ACME}/tokens`,
    body: () => ({ role: 'viewer' }),
    expect: { operator: 201, admin: 403, viewer: 403, other: 403 },
  },
  { route: 'GET /admin/tenants/:id/tokens', method: 'GET', path: () => `/admin/tenants/${ACME}/tokens`, expect: { operator: 200, admin: 200, viewer: 403, other: 404 } },
  {
    route: 'DELETE /admin/tenants/:id/tokens/:tokenId',
    method: 'DELETE',
    path: async () => `/admin/tenants/${ACME}/tokens/${(await issue(a, ACME, { role: 'viewer' })).tokenId}`,
    expect: { operator: 204, admin: 403, viewer: 403, other: 403 },
  },
  {
    route: 'POST /admin/explain',
    method: 'POST',
    path: () => '/admin/explain',
    body: () => ({ tenantId: ACME, method: 'GET', path: '/x' }),
    expect: { operator: 200, admin: 200, viewer: 200, other: 404 },
  },
  { route: 'GET /admin/audit', method: 'GET', path: () => '/admin/audit', expect: { operator: 200, admin: 200, viewer: 200, other: 200 } },
  { route: 'GET /admin/audit/verify', method: 'GET', path: () => '/admin/audit/verify', expect: { operator: 200, admin: 403, viewer: 403, other: 403 } },
  { route: 'GET /metrics', method: 'GET', path: () => '/metrics', expect: { operator: 200, admin: 403, viewer: 403, other: 403 } },
];

describe('every admin route with every kind of token', () => {
  it.each(CASES.flatMap((c) => WHO.map((who) => [c.route, who, c] as const)))('%s as %s', async (_route, who, c) => {
    const expected = who === 'expired' || who === 'revoked' ? 401 : c.expect[who];
    const reply = await admin(a, c.method, await c.path(who), c.body?.(who), tokens[who]);
    expect([reply.status, reply.text.slice(0, 200)]).toEqual([expected, reply.text.slice(0, 200)]);
    const code = { 401: 'invalid_admin_token', 403: 'forbidden', 404: 'tenant_not_found' }[expected];
    if (code !== undefined) expectProblem(reply, expected, code);
  });

  it('covers every route of the rights table', async () => {
    const { ADMIN_RIGHTS } = await import('../../src/control-plane/admin-auth/admin-rights');
    const notBuiltHere: string[] = [];
    expect(CASES.map((c) => c.route).sort()).toEqual(Object.keys(ADMIN_RIGHTS).filter((r) => !notBuiltHere.includes(r)).sort());
  });
});

describe('what a tenant token sees', () => {
  it('lists its own tenant only in /admin/tenants and /admin/routes', async () => {
    for (const who of ['admin', 'viewer'] as const) {
      const listed = await ok(admin(a, 'GET', '/admin/tenants', undefined, tokens[who]), 200);
      expect(listed.json.tenants.map((t: { id: string }) => t.id)).toEqual([ACME]);
      const routes = await ok(admin(a, 'GET', '/admin/routes', undefined, tokens[who]), 200);
      expect([...new Set(routes.json.routes.map((r: { tenantId: string }) => r.tenantId))]).toEqual([ACME]);
    }
  });

  it("answers an explain with another tenant's API key exactly as for an unknown key", async () => {
    const globexKey = await ok(admin(a, 'POST', `/admin/tenants/${GLOBEX}/keys`, {}), 201);
    secrets.push(globexKey.json.apiKey as string);
    const question = (apiKey: string) => ({ apiKey, method: 'GET', path: '/x' });
    const theirs = await ok(admin(a, 'POST', '/admin/explain', question(globexKey.json.apiKey as string), tokens.viewer), 200);
    const unknown = await ok(admin(a, 'POST', '/admin/explain', question('sgw_nobody-has-this-key-0123456789'), tokens.viewer), 200);
    expect(theirs.json).toEqual(unknown.json);
    expect(theirs.json).toMatchObject({ decision: 'deny', status: 401, code: 'invalid_api_key' });
    expect(theirs.text).not.toContain(GLOBEX);
    // The operator still sees the answer for that key.
    const operator = await ok(admin(a, 'POST', '/admin/explain', question(globexKey.json.apiKey as string)), 200);
    expect(operator.json.decision).toBe('allow');
  });

  it('answers an unknown admin path with 404 for a tenant token, and 401 without a valid token', async () => {
    expectProblem(await admin(a, 'GET', '/admin/nothing-here', undefined, tokens.viewer), 404, 'not_found');
    expectProblem(await admin(a, 'GET', '/admin/nothing-here', undefined, tokens.revoked), 401, 'invalid_admin_token');
  });
});

describe('issuing, listing, revoking', () => {
  it('shows the token once, with the sat_ prefix, and lists metadata only', async () => {
    const created = await ok(admin(a, 'POST', `/admin/tenants/${ACME}/tokens`, { role: 'viewer', name: 'dashboards' }), 201);
    expect(created.json).toEqual({
      tokenId: expect.stringMatching(/^tok_[0-9a-f]{16}$/),
      token: expect.stringMatching(/^sat_[A-Za-z0-9_-]{43}$/),
      role: 'viewer',
      name: 'dashboards',
      createdAt: expect.any(String),
      expiresAt: null,
      expired: false,
    });
    secrets.push(created.json.token as string);
    const listed = await ok(admin(a, 'GET', `/admin/tenants/${ACME}/tokens`, undefined, tokens.admin), 200);
    const mine = listed.json.tokens.find((t: { tokenId: string }) => t.tokenId === created.json.tokenId);
    expect(Object.keys(mine).sort()).toEqual(['createdAt', 'expired', 'expiresAt', 'name', 'role', 'tokenId']);
    for (const secret of secrets) {
      expect(listed.text).not.toContain(secret);
      expect(listed.text).not.toContain(sha256Hex(secret));
    }
    expect(listed.json.tokens.filter((t: { expired: boolean }) => t.expired)).toHaveLength(1);
  });

  it('refuses a bad token request and an unknown token id', async () => {
    const bad = await admin(a, 'POST', `/admin/tenants/${ACME}/tokens`, { role: 'root', expiresAt: 'soon', extra: 1 });
    expectProblem(bad, 400, 'invalid_request');
    expect(bad.json.errors.map((e: { path: string }) => e.path).sort()).toEqual(['expiresAt', 'extra', 'role']);
    expectProblem(await admin(a, 'DELETE', `/admin/tenants/${ACME}/tokens/tok_0000000000000000`), 404, 'token_not_found');
    expectProblem(await admin(a, 'POST', `/admin/tenants/${id('ghost')}/tokens`, { role: 'admin' }), 404, 'tenant_not_found');
  });

  it('revocation through A takes effect on B within 1 s', async () => {
    const { token, tokenId } = await issue(a, ACME, { role: 'viewer' });
    await ok(admin(b, 'GET', `/admin/tenants/${ACME}`, undefined, token), 200);
    const sent = Date.now();
    await ok(admin(a, 'DELETE', `/admin/tenants/${ACME}/tokens/${tokenId}`), 204);
    let reply: Reply;
    do {
      reply = await admin(b, 'GET', `/admin/tenants/${ACME}`, undefined, token);
    } while (reply.status === 200 && Date.now() - sent < 5000);
    const elapsed = Date.now() - sent;
    expect({ status: reply.status, within: elapsed < 1000 }).toEqual({ status: 401, within: true });
  });

  it("deleting the tenant revokes its tokens on every replica", async () => {
    const tenantId = await spareTenant('operator');
    const { token } = await issue(a, tenantId, { role: 'admin' });
    await ok(admin(b, 'GET', `/admin/tenants/${tenantId}/keys`, undefined, token), 200);
    await ok(admin(a, 'DELETE', `/admin/tenants/${tenantId}`), 204);
    expectProblem(await admin(b, 'GET', `/admin/tenants/${tenantId}/keys`, undefined, token), 401, 'invalid_admin_token');
    // A tenant created again under the same id does not bring the token back.
    await ok(admin(a, 'POST', '/admin/tenants', tenantBody(tenantId)), 201);
    expectProblem(await admin(b, 'GET', `/admin/tenants/${tenantId}`, undefined, token), 401, 'invalid_admin_token');
  });

  it('a key created by a tenant admin token works, and the mutations are audited with the token as actor', async () => {
    const created = await ok(admin(a, 'POST', `/admin/tenants/${ACME}/keys`, {}, tokens.admin), 201);
    secrets.push(created.json.apiKey as string);
    expect((await api(b, '/x', created.json.apiKey as string)).status).toBe(200);
    const line = a.logs.find((l) => l.category === 'admin' && l.action === 'key_create' && l.keyId === created.json.keyId);
    expect(line?.actor).toMatch(new RegExp(`^tenant:${ACME}/tok_[0-9a-f]{16}$`));
    await waitFor(() => a.logs.some((l) => l.action === 'token_revoke' && l.actor === 'operator'), 1000, 'token_revoke line');
  });

  it('stores no token, nor its hash in a findable form other than the key name, and logs none', async () => {
    const dump = JSON.stringify(await dumpRedis(raw));
    for (const secret of secrets) expect(dump).not.toContain(secret);
    for (const gw of [a, b]) for (const secret of secrets) expect(gw.rawLogs()).not.toContain(secret);
  });
});
