import { openApiDocument } from '../../src/control-plane/openapi/operations';
import { STATE_STORE, type StateStore } from '../../src/store/store.port';
import { ADMIN_TOKEN, startGateway, type TestGateway } from '../support/gateway';
import { OpenApiContract } from '../support/openapi-contract';
import { freePort } from '../support/redis-server';
import { send, sha256Hex, type Reply } from './helpers/e2e-http';

/*
 * The control plane against its OpenAPI document (SPEC §16): every documented operation is driven
 * against a running gateway, on success and on every error it documents, and each answer's status,
 * media type, headers and body must be what the document says. Routes Nest serves and operations the
 * document lists must be the same set. The last test checks that every documented answer was seen.
 */

const doc = openApiDocument();
const contract = new OpenApiContract(doc);
/** What each operation was seen to answer: success statuses, and problem codes. */
const seen = new Map<string, Set<string>>();

interface Call {
  params?: Record<string, string>;
  /** The query string, without `?`. */
  query?: string;
  body?: unknown;
  /** Sent as is, with `contentType` (default application/json). */
  raw?: string | Buffer;
  contentType?: string;
  token?: string | null;
}

async function call(gw: TestGateway, operation: string, expected: number | string, opts: Call = {}): Promise<Reply> {
  const [method, template] = operation.split(' ');
  const path =
    template.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(opts.params?.[name] ?? `missing-${name}`)) +
    (opts.query === undefined ? '' : `?${opts.query}`);
  const headers: Record<string, string> = {};
  const token = opts.token === undefined ? ADMIN_TOKEN : opts.token;
  if (token !== null) headers['X-Admin-Token'] = token;
  const body = opts.raw ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body));
  if (body !== undefined) headers['Content-Type'] = opts.contentType ?? 'application/json';
  const reply = await send(gw.url, method, path, { headers, body });
  const outcome = reply.headers['content-type']?.startsWith('application/problem+json') ? String(reply.json?.code) : String(reply.status);
  expect({ operation, outcome, problems: contract.problems(operation, reply) }).toEqual({
    operation,
    outcome: String(expected),
    problems: [],
  });
  if (!seen.has(operation)) seen.set(operation, new Set());
  seen.get(operation)?.add(outcome);
  return reply;
}

const tenant = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  name: `Tenant ${id}`,
  upstreamBaseUrl: 'http://127.0.0.1:9/base',
  allowedRoutes: [{ path: '/v1/users', methods: ['GET'] }, { path: '/v1/public', auth: { jwt: false } }],
  rateLimit: { windowSeconds: 60, maxRequests: 10 },
  ...extra,
});

/** A body each operation accepts, for the checks that are about everything but the body. */
const VALID_BODIES: Record<string, unknown> = {
  'POST /admin/tenants': tenant('shape'),
  'PUT /admin/tenants/{id}': tenant('shape'),
  'POST /admin/tenants/{id}/keys': {},
  'POST /admin/explain': { tenantId: 'shape', method: 'GET', path: '/v1/users' },
  'PATCH /admin/tenants/{id}': { name: 'Renamed' },
  'PATCH /admin/tenants/{id}/keys/{keyId}': { disabled: true },
  'POST /admin/tenants/{id}/tokens': { role: 'viewer' },
};
const PARAMS = { id: 'shape', keyId: 'key_0000000000000000', tokenId: 'tok_0000000000000000' };

let gw: TestGateway;

beforeAll(async () => {
  gw = await startGateway();
});
afterAll(async () => {
  await gw?.close();
});

describe('the control plane answers as its OpenAPI document says', () => {
  it('serves exactly the documented routes: every Nest route is documented and every documented route is served', () => {
    const express = gw.app.getHttpAdapter().getInstance() as { router: { stack: { route?: { path: string; methods: Record<string, boolean> } }[] } };
    const served = express.router.stack
      .flatMap((layer) => (layer.route ? Object.keys(layer.route.methods).map((m) => `${m.toUpperCase()} ${layer.route!.path.replace(/:(\w+)/g, '{$1}')}`) : []))
      .filter((op) => op !== '_ALL');
    const documented = contract.operations();
    expect({ servedButNotDocumented: served.filter((op) => !documented.includes(op)).sort() }).toEqual({ servedButNotDocumented: [] });
    expect({ documentedButNotServed: documented.filter((op) => !served.includes(op)).sort() }).toEqual({ documentedButNotServed: [] });
  });

  it('serves the document itself at /admin/openapi.json', async () => {
    const reply = await call(gw, 'GET /admin/openapi.json', 200);
    expect(reply.json).toEqual(doc);
  });

  it('health and metrics', async () => {
    await call(gw, 'GET /healthz', 200, { token: null });
    await call(gw, 'GET /readyz', 200, { token: null });
    await call(gw, 'GET /admin/health', 200);
    const metrics = await call(gw, 'GET /metrics', 200);
    expect(metrics.text).toContain('# TYPE gateway_requests_total counter');
  });

  it('tenants: create, read, list, replace, delete, and their errors', async () => {
    await call(gw, 'POST /admin/tenants', 201, { body: tenant('acme') });
    await call(gw, 'POST /admin/tenants', 'tenant_exists', { body: tenant('acme') });
    const invalid = await call(gw, 'POST /admin/tenants', 'invalid_tenant', { body: { id: 'x', upstreamBaseUrl: 'ftp://x', allowedRoutes: [], typo: 1 } });
    expect(invalid.json.errors.map((e: { path: string }) => e.path)).toEqual(expect.arrayContaining(['upstreamBaseUrl', 'typo']));

    // A tenant written by hand into the store that fails validation: listed apart, and a 500 when read.
    await gw.app.get<symbol, StateStore>(STATE_STORE).putTenant('broken', JSON.stringify({ id: 'broken', upstreamBaseUrl: 'nope' }));
    const listing = await call(gw, 'GET /admin/tenants', 200);
    expect(listing.json.invalidTenants.map((t: { id: string }) => t.id)).toEqual(['broken']);
    await call(gw, 'GET /admin/tenants/{id}', 'tenant_misconfigured', { params: { id: 'broken' } });
    await call(gw, 'GET /admin/tenants/{id}', 200, { params: { id: 'acme' } });
    await call(gw, 'GET /admin/tenants/{id}', 'tenant_not_found', { params: { id: 'nobody' } });

    const { id: _id, ...withoutId } = tenant('acme', { disabled: true });
    await call(gw, 'PUT /admin/tenants/{id}', 200, { params: { id: 'acme' }, body: withoutId });
    await call(gw, 'PUT /admin/tenants/{id}', 201, { params: { id: 'beta' }, body: tenant('beta') });
    await call(gw, 'PUT /admin/tenants/{id}', 'invalid_tenant', { params: { id: 'acme' }, body: tenant('other') });

    await call(gw, 'DELETE /admin/tenants/{id}', 204, { params: { id: 'beta' } });
    await call(gw, 'DELETE /admin/tenants/{id}', 'tenant_not_found', { params: { id: 'beta' } });
  });

  it('keys: create, register by hash, list, revoke, and their errors', async () => {
    await call(gw, 'POST /admin/tenants', 201, { body: tenant('keys') });
    const id = { id: 'keys' };
    const generated = await call(gw, 'POST /admin/tenants/{id}/keys', 201, { params: id });
    expect(generated.json.apiKey).toMatch(/^sgw_/);
    const hash = sha256Hex('an-existing-key-0123456789');
    const registered = await call(gw, 'POST /admin/tenants/{id}/keys', 201, {
      params: id,
      body: { sha256: hash, expiresAt: new Date(Date.now() + 3600_000).toISOString() },
    });
    expect(registered.json.apiKey).toBeUndefined();
    await call(gw, 'POST /admin/tenants/{id}/keys', 'key_exists', { params: id, body: { sha256: hash } });
    await call(gw, 'POST /admin/tenants/{id}/keys', 'invalid_request', { params: id, body: { sha256: 'zz', expiresAt: '2000-01-01T00:00:00Z' } });
    await call(gw, 'POST /admin/tenants/{id}/keys', 'tenant_not_found', { params: { id: 'nobody' }, body: {} });

    const list = await call(gw, 'GET /admin/tenants/{id}/keys', 200, { params: id });
    expect(list.json.keys).toHaveLength(2);
    await call(gw, 'GET /admin/tenants/{id}/keys', 'tenant_not_found', { params: { id: 'nobody' } });

    await call(gw, 'DELETE /admin/tenants/{id}/keys/{keyId}', 204, { params: { id: 'keys', keyId: registered.json.keyId } });
    await call(gw, 'DELETE /admin/tenants/{id}/keys/{keyId}', 'key_not_found', { params: { id: 'keys', keyId: registered.json.keyId } });
    await call(gw, 'DELETE /admin/tenants/{id}/keys/{keyId}', 'tenant_not_found', { params: { id: 'nobody', keyId: 'key_1' } });
  });

  it('routes and explain', async () => {
    await call(gw, 'POST /admin/tenants', 201, { body: tenant('explained') });
    const key = (await call(gw, 'POST /admin/tenants/{id}/keys', 201, { params: { id: 'explained' } })).json.apiKey as string;
    const routes = await call(gw, 'GET /admin/routes', 200);
    expect(routes.json.routes).toEqual(expect.arrayContaining([expect.objectContaining({ tenantId: 'explained', path: '/v1/users', methods: ['GET'] })]));

    const allowed = await call(gw, 'POST /admin/explain', 200, { body: { apiKey: key, method: 'GET', path: '/v1/users/1?x=1' } });
    expect(allowed.json).toMatchObject({ decision: 'allow', status: 200, code: null });
    const denied = await call(gw, 'POST /admin/explain', 200, { body: { tenantId: 'explained', method: 'POST', path: '/v1/users' } });
    expect(denied.json).toMatchObject({ decision: 'deny', status: 403, code: 'route_not_allowed' });
    await call(gw, 'POST /admin/explain', 'invalid_request', { body: { method: 'GET', path: 'no-slash' } });
    await call(gw, 'POST /admin/explain', 'tenant_not_found', { body: { tenantId: 'nobody', method: 'GET', path: '/' } });
  });

  it('key lifecycle: rename, own limit, suspend, and their errors', async () => {
    await call(gw, 'POST /admin/tenants', 201, { body: tenant('lifecycle') });
    const created = await call(gw, 'POST /admin/tenants/{id}/keys', 201, { params: { id: 'lifecycle' }, body: { name: 'ci' } });
    const params = { id: 'lifecycle', keyId: created.json.keyId as string };
    const patched = await call(gw, 'PATCH /admin/tenants/{id}/keys/{keyId}', 200, {
      params,
      body: { name: 'nightly', rateLimit: { windowSeconds: 60, maxRequests: 5 }, disabled: true },
    });
    expect(patched.json).toMatchObject({ name: 'nightly', disabled: true, rateLimit: { windowSeconds: 60, maxRequests: 5 } });
    await call(gw, 'PATCH /admin/tenants/{id}/keys/{keyId}', 'invalid_request', { params, body: { disabled: 'yes' } });
    await call(gw, 'PATCH /admin/tenants/{id}/keys/{keyId}', 'key_not_found', { params: { ...params, keyId: 'key_0000000000000000' }, body: {} });
    await call(gw, 'PATCH /admin/tenants/{id}/keys/{keyId}', 'tenant_not_found', { params: { ...params, id: 'nobody' }, body: {} });
  });

  it('tenant merge patch and its errors', async () => {
    await call(gw, 'POST /admin/tenants', 201, { body: tenant('patched') });
    const reply = await call(gw, 'PATCH /admin/tenants/{id}', 200, { params: { id: 'patched' }, body: { name: 'Patched', rateLimit: null } });
    expect(reply.json.name).toBe('Patched');
    await call(gw, 'PATCH /admin/tenants/{id}', 'invalid_tenant', { params: { id: 'patched' }, body: { upstreamBaseUrl: 'ftp://x' } });
    await call(gw, 'PATCH /admin/tenants/{id}', 'tenant_not_found', { params: { id: 'nobody' }, body: { name: 'x' } });
  });

  it('tenant tokens: issue, list, revoke, and what a token may not do', async () => {
    await call(gw, 'POST /admin/tenants', 201, { body: tenant('team') });
    const id = { id: 'team' };
    const viewer = await call(gw, 'POST /admin/tenants/{id}/tokens', 201, { params: id, body: { role: 'viewer', name: 'readers' } });
    expect(viewer.json.token).toMatch(/^sat_/);
    await call(gw, 'POST /admin/tenants/{id}/tokens', 'invalid_request', { params: id, body: { role: 'root' } });
    await call(gw, 'POST /admin/tenants/{id}/tokens', 'tenant_not_found', { params: { id: 'nobody' }, body: { role: 'viewer' } });
    const list = await call(gw, 'GET /admin/tenants/{id}/tokens', 200, { params: id });
    expect(list.json.tokens).toEqual([expect.objectContaining({ tokenId: viewer.json.tokenId, role: 'viewer', expired: false })]);
    await call(gw, 'GET /admin/tenants/{id}/tokens', 'tenant_not_found', { params: { id: 'nobody' } });

    // A viewer token: every route its role may not use is 403 forbidden, whatever it names.
    for (const operation of contract.operations().filter((op) => contract.codes(op).includes('forbidden'))) {
      await call(gw, operation, 'forbidden', { params: { ...PARAMS, id: 'team' }, token: viewer.json.token as string, body: VALID_BODIES[operation] });
    }

    // On a route it may use, another tenant is as if it did not exist.
    await call(gw, 'GET /admin/audit', 'tenant_not_found', { query: 'tenantId=acme', token: viewer.json.token as string });

    const revoke = { id: 'team', tokenId: viewer.json.tokenId as string };
    await call(gw, 'DELETE /admin/tenants/{id}/tokens/{tokenId}', 204, { params: revoke });
    await call(gw, 'DELETE /admin/tenants/{id}/tokens/{tokenId}', 'token_not_found', { params: revoke });
    await call(gw, 'DELETE /admin/tenants/{id}/tokens/{tokenId}', 'tenant_not_found', { params: { ...revoke, id: 'nobody' } });
  });

  it('audit: pages, a tenant filter, verification, and their errors', async () => {
    const page = await call(gw, 'GET /admin/audit', 200, { query: 'limit=2' });
    expect(page.json.entries).toHaveLength(2);
    const next = await call(gw, 'GET /admin/audit', 200, { query: `afterSeq=${page.json.nextAfterSeq as number}&tenantId=team` });
    expect(next.json.entries.length).toBeGreaterThan(0);
    expect(next.json.entries.every((e: { tenantId: string }) => e.tenantId === 'team')).toBe(true);
    await call(gw, 'GET /admin/audit', 'invalid_request', { query: 'limit=0' });
    const verdict = await call(gw, 'GET /admin/audit/verify', 200);
    expect(verdict.json).toMatchObject({ ok: true });
  });

  it('every operation behind the admin token refuses a missing or wrong token', async () => {
    for (const operation of contract.operations().filter((op) => contract.statuses(op).includes(401))) {
      await call(gw, operation, 'invalid_admin_token', { params: PARAMS, token: null });
      await call(gw, operation, 'invalid_admin_token', { params: PARAMS, token: 'wrong-token' });
    }
  });

  it('every operation with a body refuses one that is not JSON, too large, or of another media type', async () => {
    for (const operation of contract.operations().filter((op) => contract.operation(op).requestBody !== undefined)) {
      await call(gw, operation, 'malformed_json', { params: PARAMS, raw: '{"id": ' });
      await call(gw, operation, 'unsupported_media_type', { params: PARAMS, raw: 'id=acme', contentType: 'application/x-www-form-urlencoded' });
      await call(gw, operation, 'payload_too_large', { params: PARAMS, raw: Buffer.alloc(1024 * 1024 + 1, 0x20) });
    }
  });
});

describe('with the store down', () => {
  let down: TestGateway;
  beforeAll(async () => {
    // Nothing listens there: every store command fails.
    down = await startGateway({ REDIS_URL: `redis://127.0.0.1:${await freePort()}` });
  });
  afterAll(async () => {
    await down?.close();
  });

  it('answers 503 as documented: readiness, health, and every operation that uses the store', async () => {
    await call(down, 'GET /readyz', 503, { token: null });
    await call(down, 'GET /admin/health', 503);
    for (const operation of contract.operations().filter((op) => contract.statuses(op).includes(503))) {
      if (operation === 'GET /readyz' || operation === 'GET /admin/health') continue;
      await call(down, operation, 'state_unavailable', { params: PARAMS, body: VALID_BODIES[operation] });
    }
  });
});

describe('coverage', () => {
  /** Not provoked from outside: it is what an unexpected exception becomes (test/unit/http/problem.filter.spec.ts). */
  const UNREACHABLE = ['internal_error'];

  it('saw every documented answer of every operation', () => {
    const missing: string[] = [];
    for (const operation of contract.operations()) {
      for (const [status, response] of Object.entries<ReturnType<typeof JSON.parse>>(contract.operation(operation).responses)) {
        const problem = response.content?.['application/problem+json']?.schema;
        const outcomes: string[] = problem ? problem.allOf[1].properties.code.enum : [status];
        for (const outcome of outcomes) {
          if (!UNREACHABLE.includes(outcome) && !seen.get(operation)?.has(outcome)) missing.push(`${operation} -> ${outcome}`);
        }
      }
    }
    expect(missing).toEqual([]);
  });
});
