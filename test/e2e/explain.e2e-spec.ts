import { createHash, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { startGateway, type TestGateway } from '../support/gateway';
import { makeKey, signToken, startJwksServer, type JwksServer, type SigningKey } from '../support/jwks-server';
import { AUDIENCE, claims, ISSUER } from '../support/jwt-fixtures';
import { freePort, startRedis, type RedisHandle } from '../support/redis-server';
import { startUpstream, type Upstream } from '../support/upstream';
import { admin, createTenantWithKey, expectProblem, send, type Reply } from './helpers/e2e-http';

/*
 * POST /admin/explain (SPEC §6.1) against the real data plane: for a table of requests (allowed, and
 * every denial reason the gateway can decide without a body), explain's decision, status and code
 * must be what the same request really gets. Real Redis (tenants, keys, buckets), a real JWKS server
 * with keys made by jose, a real upstream. Explain must never reach the upstream nor take a token.
 */

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

let redis: RedisHandle;
let raw: Redis;
let upstream: Upstream;
let jwks: JwksServer;
let signer: SigningKey;
let stranger: SigningKey;
let gw: TestGateway;
const keys: Record<string, string> = {};
/** Every secret handed to the gateway, to look for in answers and logs. */
const secrets: string[] = [];

async function createTenant(id: string, body: Record<string, unknown>): Promise<void> {
  keys[id] = await createTenantWithKey(gw, { id, upstreamBaseUrl: `${upstream.url}/base/${id}`, ...body });
  secrets.push(keys[id]);
}

async function token(extra: Record<string, unknown> = {}, key: SigningKey = signer, expiresIn: number | null = 300): Promise<string> {
  const t = await signToken(key, claims(extra), { expiresIn });
  secrets.push(t);
  return t;
}

interface Case {
  name: string;
  /** A tenant's key by tenant id, a literal key (`=...`), or null for none. */
  key: string | null;
  method: string;
  path: string;
  headers?: Record<string, string>;
  /** Sent to the data plane only; explain is told its length in a Content-Length header. */
  body?: string;
  /** What the data plane answers (the upstream's 200 when proxied). */
  status: number;
  code: string | null;
}

function keyOf(c: Case): string | undefined {
  if (c.key === null) return undefined;
  return c.key.startsWith('=') ? c.key.slice(1) : keys[c.key];
}

function explain(body: unknown): Promise<Reply> {
  return admin(gw, 'POST', '/admin/explain', body);
}

function real(c: Case): Promise<Reply> {
  const key = keyOf(c);
  return send(gw.url, c.method, `/api${c.path}`, {
    headers: { ...c.headers, ...(key !== undefined && { 'X-API-Key': key }) },
    ...(c.body !== undefined && { body: c.body }),
    verbatim: true,
  });
}

beforeAll(async () => {
  redis = await startRedis();
  raw = redis.client();
  upstream = await startUpstream();
  signer = await makeKey('RS256');
  stranger = await makeKey('RS256');
  jwks = await startJwksServer([signer]);
  gw = await startGateway({ REDIS_URL: redis.url });
  const idp = { issuer: ISSUER, jwksUri: jwks.jwksUri, audience: AUDIENCE };
  const roomy = { windowSeconds: 1, maxRequests: 1_000_000 };
  await createTenant('acme', {
    allowedRoutes: [
      { path: '/v1/users', auth: { jwt: true }, methods: ['GET', 'POST'] },
      { path: '/v1/products', auth: { jwt: false } },
      // No rule of its own: the tenant has an idp, so a JWT is required.
      { path: '/v2/admin' },
    ],
    idp,
    rateLimit: roomy,
  });
  await createTenant('open', { allowedRoutes: [{ path: '/' }], rateLimit: roomy });
  // SPEC §18: an open route beside a JWT-only one below it.
  await createTenant('nested', {
    allowedRoutes: [
      { path: '/foo', auth: { jwt: false } },
      { path: '/foo/bar', auth: { jwt: true } },
    ],
    idp,
    rateLimit: roomy,
  });
  await createTenant('off', { allowedRoutes: [{ path: '/' }], disabled: true });
  await createTenant('tight', { allowedRoutes: [{ path: '/' }], rateLimit: { windowSeconds: 3600, maxRequests: 2 } });
  await createTenant('small', { allowedRoutes: [{ path: '/' }], rateLimit: roomy, maxBodyBytes: 16 });
  await createTenant('spare', { allowedRoutes: [{ path: '/' }], rateLimit: { windowSeconds: 3600, maxRequests: 1 } });
  // An identity provider that is down with nothing cached.
  await createTenant('idp-down', {
    allowedRoutes: [{ path: '/' }],
    idp: { issuer: ISSUER, jwksUri: `http://127.0.0.1:${await freePort()}/jwks.json` },
    rateLimit: roomy,
  });
  // Written by hand with a typo: served as 500 tenant_misconfigured, never with a weaker policy.
  keys.broken = `hand-${randomBytes(16).toString('hex')}`;
  secrets.push(keys.broken);
  await raw.set('tenant:broken', JSON.stringify({ id: 'broken', upstreamBaseUrl: upstream.url, allowedRoutes: [{ path: '/' }], rateLimt: {} }));
  await raw.set(`tenant:byApiKey:${sha256(keys.broken)}`, 'broken');

  // Empty the tight bucket through the data plane itself.
  for (let i = 0; i < 2; i++) expect((await real({ name: '', key: 'tight', method: 'GET', path: '/x', status: 200, code: null })).status).toBe(200);
});

afterAll(async () => {
  await gw?.close();
  await jwks?.close();
  await upstream?.close();
  raw?.disconnect();
  await redis?.stop();
});

describe('explain agrees with the data plane', () => {
  const cases: [string, () => Promise<Case>][] = [
    ['allowed: a route without JWT', async () => ({ name: 'allowed: a route without JWT', key: 'open', method: 'GET', path: '/anything/at/all', status: 200, code: null })],
    ['allowed: query kept', async () => ({ name: 'allowed: query kept', key: 'acme', method: 'GET', path: '/v1/products?q=1&r=%20', status: 200, code: null })],
    ['allowed: path normalized', async () => ({ name: 'allowed: path normalized', key: 'acme', method: 'GET', path: '/v1/./products//x/../y', status: 200, code: null })],
    ['allowed: verified JWT', async () => ({ name: 'allowed: verified JWT', key: 'acme', method: 'GET', path: '/v1/users/42', headers: { Authorization: `Bearer ${await token()}` }, status: 200, code: null })],
    ['allowed: JWT, second listed method', async () => ({ name: 'allowed: JWT, second listed method', key: 'acme', method: 'POST', path: '/v1/users', headers: { authorization: `bearer ${await token()}` }, status: 200, code: null })],
    ['allowed: JWT required by the idp default', async () => ({ name: 'allowed: JWT required by the idp default', key: 'acme', method: 'GET', path: '/v2/admin/x', headers: { Authorization: `Bearer ${await token()}` }, status: 200, code: null })],
    ['bad_path: encoded slash', async () => ({ name: 'bad_path: encoded slash', key: 'acme', method: 'GET', path: '/v1/products%2F..%2Fusers', status: 400, code: 'bad_path' })],
    ['bad_path: climbing above the root', async () => ({ name: 'bad_path: climbing above the root', key: 'acme', method: 'GET', path: '/v1/../../etc/passwd', status: 400, code: 'bad_path' })],
    ['bad_path: a path http-proxy would rewrite', async () => ({ name: 'bad_path: a path http-proxy would rewrite', key: 'open', method: 'GET', path: '/redirect/http:/evil', status: 400, code: 'bad_path' })],
    ['bad_path: a path parameter (SPEC §18)', async () => ({ name: 'bad_path: a path parameter (SPEC §18)', key: 'nested', method: 'GET', path: '/foo/bar;jsessionid=x.css', status: 400, code: 'bad_path' })],
    ['bad_path: an escaped path parameter', async () => ({ name: 'bad_path: an escaped path parameter', key: 'nested', method: 'GET', path: '/foo/bar%3B', status: 400, code: 'bad_path' })],
    ['bad_path: a look-alike slash', async () => ({ name: 'bad_path: a look-alike slash', key: 'nested', method: 'GET', path: '/foo/%ef%bc%8fbar', status: 400, code: 'bad_path' })],
    ['bad_path: case reaches a longer route', async () => ({ name: 'bad_path: case reaches a longer route', key: 'nested', method: 'GET', path: '/foo/BAR', status: 400, code: 'bad_path' })],
    ['allowed: no longer route by any reading', async () => ({ name: 'allowed: no longer route by any reading', key: 'nested', method: 'GET', path: '/foo/Other', status: 200, code: null })],
    ['method_not_allowed: TRACE', async () => ({ name: 'method_not_allowed: TRACE', key: 'open', method: 'TRACE', path: '/x', status: 405, code: 'method_not_allowed' })],
    ['bad_request: a Host with userinfo', async () => ({ name: 'bad_request: a Host with userinfo', key: 'open', method: 'GET', path: '/x', headers: { Host: 'a@evil.example' }, status: 400, code: 'bad_request' })],
    ['bad_request: a Host with a path', async () => ({ name: 'bad_request: a Host with a path', key: 'open', method: 'GET', path: '/x', headers: { Host: 'evil.example/x' }, status: 400, code: 'bad_request' })],
    ['missing_api_key', async () => ({ name: 'missing_api_key', key: null, method: 'GET', path: '/v1/products', status: 401, code: 'missing_api_key' })],
    ['invalid_api_key', async () => ({ name: 'invalid_api_key', key: '=sgw_not-a-key-of-anyone-0123456789', method: 'GET', path: '/v1/products', status: 401, code: 'invalid_api_key' })],
    ['tenant_disabled', async () => ({ name: 'tenant_disabled', key: 'off', method: 'GET', path: '/x', status: 403, code: 'tenant_disabled' })],
    ['tenant_misconfigured', async () => ({ name: 'tenant_misconfigured', key: 'broken', method: 'GET', path: '/x', status: 500, code: 'tenant_misconfigured' })],
    ['route_not_allowed: no route', async () => ({ name: 'route_not_allowed: no route', key: 'acme', method: 'GET', path: '/v3/anything', status: 403, code: 'route_not_allowed' })],
    ['route_not_allowed: method', async () => ({ name: 'route_not_allowed: method', key: 'acme', method: 'DELETE', path: '/v1/users/42', headers: { Authorization: `Bearer ${await token()}` }, status: 403, code: 'route_not_allowed' })],
    ['route_not_allowed: no segment boundary', async () => ({ name: 'route_not_allowed: no segment boundary', key: 'acme', method: 'GET', path: '/v1/users2', status: 403, code: 'route_not_allowed' })],
    ['missing_jwt: no header', async () => ({ name: 'missing_jwt: no header', key: 'acme', method: 'GET', path: '/v1/users/42', status: 401, code: 'missing_jwt' })],
    ['missing_jwt: another scheme', async () => ({ name: 'missing_jwt: another scheme', key: 'acme', method: 'GET', path: '/v1/users/42', headers: { Authorization: 'Basic dXNlcjpwYXNz' }, status: 401, code: 'missing_jwt' })],
    ['invalid_jwt: expired', async () => ({ name: 'invalid_jwt: expired', key: 'acme', method: 'GET', path: '/v1/users/42', headers: { Authorization: `Bearer ${await token({ exp: Math.floor(Date.now() / 1000) - 3600 }, signer, null)}` }, status: 401, code: 'invalid_jwt' })],
    ['invalid_jwt: wrong audience', async () => ({ name: 'invalid_jwt: wrong audience', key: 'acme', method: 'GET', path: '/v1/users/42', headers: { Authorization: `Bearer ${await token({ aud: 'someone-else' })}` }, status: 401, code: 'invalid_jwt' })],
    ['invalid_jwt: wrong issuer', async () => ({ name: 'invalid_jwt: wrong issuer', key: 'acme', method: 'GET', path: '/v1/users/42', headers: { Authorization: `Bearer ${await token({ iss: 'https://evil.test/' })}` }, status: 401, code: 'invalid_jwt' })],
    ['invalid_jwt: unknown signing key', async () => ({ name: 'invalid_jwt: unknown signing key', key: 'acme', method: 'GET', path: '/v1/users/42', headers: { Authorization: `Bearer ${await token({}, stranger)}` }, status: 401, code: 'invalid_jwt' })],
    ['invalid_jwt: not a JWT', async () => ({ name: 'invalid_jwt: not a JWT', key: 'acme', method: 'GET', path: '/v1/users/42', headers: { Authorization: 'Bearer not.a.jwt' }, status: 401, code: 'invalid_jwt' })],
    ['jwks_unavailable', async () => ({ name: 'jwks_unavailable', key: 'idp-down', method: 'GET', path: '/x', headers: { Authorization: `Bearer ${await token()}` }, status: 503, code: 'jwks_unavailable' })],
    ['payload_too_large: by Content-Length', async () => ({ name: 'payload_too_large: by Content-Length', key: 'small', method: 'POST', path: '/upload', headers: { 'Content-Length': '64' }, body: 'x'.repeat(64), status: 413, code: 'payload_too_large' })],
    ['rate_limited', async () => ({ name: 'rate_limited', key: 'tight', method: 'GET', path: '/x', status: 429, code: 'rate_limited' })],
  ];

  it.each(cases)('%s', async (_name, make) => {
    const c = await make();
    const key = keyOf(c);
    const upstreamBefore = upstream.received.length;
    const said = await explain({
      ...(key === undefined ? { apiKey: '' } : { apiKey: key }),
      method: c.method,
      path: c.path,
      ...(c.headers !== undefined && { headers: c.headers }),
    });
    expect([c.name, said.status]).toEqual([c.name, 200]);
    // Explain never reaches the upstream.
    expect(upstream.received.length).toBe(upstreamBefore);

    const got = await real(c);
    const actual = { status: got.status, code: got.status === 200 ? null : (got.json?.code ?? null) };
    expect({ name: c.name, ...actual }).toEqual({ name: c.name, status: c.status, code: c.code });
    expect({ name: c.name, decision: said.json.decision, status: said.json.status, code: said.json.code }).toEqual({
      name: c.name,
      decision: c.status === 200 ? 'allow' : 'deny',
      status: actual.status,
      code: actual.code,
    });

    const steps = said.json.steps as { step: string; ok: boolean; code?: string }[];
    if (c.status === 200) {
      // Every step passed, in the data plane's order, and the upstream got exactly the URL explain named.
      expect(steps.map((s) => [s.step, s.ok])).toEqual([
        ['path', true],
        ['api_key', true],
        ['route', true],
        ['jwt', true],
        ['rate_limit', true],
        ['proxy', true],
      ]);
      const target = new URL(said.json.upstreamUrl as string);
      expect(`${target.origin}${upstream.received.at(-1)!.url}`).toBe(said.json.upstreamUrl);
    } else {
      // Steps stop at the first denial, which carries the code.
      expect(steps.slice(0, -1).every((s) => s.ok)).toBe(true);
      expect(steps.at(-1)).toMatchObject({ ok: false, code: c.code });
    }
    for (const secret of secrets) expect(said.text).not.toContain(secret);
  });
});

describe('explain', () => {
  it('answers step by step, as SPEC §6.1 shows', async () => {
    const said = await explain({ apiKey: keys.acme, method: 'GET', path: '/v1/users/42' });
    expect(said.json).toEqual({
      decision: 'deny',
      status: 401,
      code: 'missing_jwt',
      steps: [
        { step: 'path', ok: true, normalized: '/v1/users/42' },
        { step: 'api_key', ok: true, tenantId: 'acme', keyId: expect.stringMatching(/^key_/), keyDisabled: false },
        { step: 'route', ok: true, route: '/v1/users', methods: ['GET', 'POST'], jwtRequired: true, jwtSource: 'route' },
        { step: 'jwt', ok: false, code: 'missing_jwt', detail: expect.any(String), required: true },
      ],
      upstreamUrl: `${upstream.url}/base/acme/v1/users/42`,
    });
  });

  it('says why a token fails, in jose words', async () => {
    const expired = await token({ exp: Math.floor(Date.now() / 1000) - 3600 }, signer, null);
    const said = await explain({ apiKey: keys.acme, method: 'GET', path: '/v1/users/1', headers: { Authorization: `Bearer ${expired}` } });
    expect(said.json.steps.at(-1)).toEqual({ step: 'jwt', ok: false, code: 'invalid_jwt', detail: '"exp" claim timestamp check failed', required: true });
  });

  it('reports the bucket without taking a token', async () => {
    for (let i = 0; i < 5; i++) {
      const said = await explain({ apiKey: keys.spare, method: 'GET', path: '/x' });
      expect(said.json.steps.find((s: { step: string }) => s.step === 'rate_limit')).toEqual({
        step: 'rate_limit',
        ok: true,
        limit: 1,
        remaining: 1,
        resetSeconds: 0,
      });
    }
    // The one token is still there for the real request, and gone after it.
    expect((await real({ name: '', key: 'spare', method: 'GET', path: '/x', status: 200, code: null })).status).toBe(200);
    const after = await explain({ apiKey: keys.spare, method: 'GET', path: '/x' });
    expect(after.json).toMatchObject({ decision: 'deny', status: 429, code: 'rate_limited' });
    expect(after.json.steps.at(-1)).toMatchObject({ step: 'rate_limit', ok: false, limit: 1, remaining: 0, retryAfterSeconds: expect.any(Number) });
  });

  it('shows what is refused before any step as a request step (SPEC §18)', async () => {
    const trace = await explain({ tenantId: 'open', method: 'TRACE', path: '/a' });
    expect(trace.json).toEqual({
      decision: 'deny',
      status: 405,
      code: 'method_not_allowed',
      steps: [{ step: 'request', ok: false, code: 'method_not_allowed', detail: expect.any(String) }],
    });
    const host = await explain({ tenantId: 'open', method: 'GET', path: '/a', headers: { Host: 'evil.example/x' } });
    expect(host.json.steps).toEqual([{ step: 'request', ok: false, code: 'bad_request', detail: expect.any(String) }]);
  });

  it('names the route step for the path rules that need the tenant (SPEC §18)', async () => {
    const said = await explain({ tenantId: 'nested', method: 'GET', path: '/foo/BAR' });
    expect(said.json).toMatchObject({ decision: 'deny', status: 400, code: 'bad_path' });
    expect(said.json.steps.map((s: { step: string; ok: boolean }) => [s.step, s.ok])).toEqual([
      ['path', true],
      ['api_key', true],
      ['route', false],
    ]);
    expect(said.json.steps[2].detail).toContain('/foo/bar');
  });

  it('takes a tenant id instead of a key, and says no key was checked', async () => {
    const said = await explain({ tenantId: 'open', method: 'GET', path: '/a' });
    expect(said.json).toMatchObject({ decision: 'allow', status: 200, code: null });
    expect(said.json.steps[1]).toEqual({ step: 'api_key', ok: true, tenantId: 'open', keyChecked: false });
  });

  it('answers 404 tenant_not_found for a tenant id that does not exist', async () => {
    expectProblem(await explain({ tenantId: 'nobody-here', method: 'GET', path: '/a' }), 404, 'tenant_not_found');
  });

  it('refuses a malformed question with every problem listed', async () => {
    const said = await explain({ method: 7, path: 'x', extra: 1 });
    expectProblem(said, 400, 'invalid_request');
    expect((said.json.errors as { path: string }[]).map((e) => e.path).sort()).toEqual(['', 'extra', 'method', 'path']);
  });

  it('needs the admin token', async () => {
    expectProblem(await admin(gw, 'POST', '/admin/explain', { tenantId: 'open', method: 'GET', path: '/' }, null), 401, 'invalid_admin_token');
  });

  it('never writes an API key or a token to the logs', () => {
    const logs = gw.rawLogs();
    for (const secret of secrets) expect(logs).not.toContain(secret);
  });
});
