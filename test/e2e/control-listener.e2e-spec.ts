import { randomBytes } from 'node:crypto';
import { ADMIN_TOKEN, startGateway, type TestGateway } from '../support/gateway';
import { startUpstream, type Upstream } from '../support/upstream';
import { admin, api, expectProblem, send, type Reply } from './helpers/e2e-http';

/**
 * SPEC §17 end to end, on the embedded store: the separate admin listener, merge-patch edits of a
 * tenant, 405 with Allow on known admin paths, and /metrics with a bearer token and METRICS_TOKEN.
 */

const RUN = randomBytes(3).toString('hex');
const id = (name: string): string => `cl-${name}-${RUN}`;
const METRICS_TOKEN = 'scrape-only-token-0123456789abcdef';

let upstream: Upstream;

beforeAll(async () => {
  upstream = await startUpstream();
});
afterAll(async () => {
  await upstream?.close();
});

const tenantBody = (tenantId: string) => ({
  id: tenantId,
  name: 'Before',
  upstreamBaseUrl: `${upstream.url}/svc`,
  allowedRoutes: [{ path: '/a' }, { path: '/b', methods: ['GET'] }],
  rateLimit: { windowSeconds: 60, maxRequests: 100 },
});

async function ok(reply: Promise<Reply>, status: number): Promise<Reply> {
  const r = await reply;
  expect([r.status, r.text.slice(0, 300)]).toEqual([status, r.text.slice(0, 300)]);
  return r;
}

describe('ADMIN_PORT: a separate control-plane listener', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway({ ADMIN_PORT: '0', ADMIN_HOST: '127.0.0.1' });
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('serves the admin API and /metrics only there; the data-plane port answers them 404', async () => {
    const control = { ...gw, url: gw.adminUrl! };
    const created = await ok(admin(control, 'POST', '/admin/tenants', tenantBody(id('split'))), 201);
    expect(created.json.id).toBe(id('split'));
    expectProblem(await admin(gw, 'GET', '/admin/tenants'), 404, 'not_found');
    expectProblem(await admin(gw, 'POST', '/admin/tenants', tenantBody(id('nope'))), 404, 'not_found');
    expectProblem(await send(gw.url, 'GET', '/metrics', { headers: { 'X-Admin-Token': ADMIN_TOKEN } }), 404, 'not_found');
    expect((await send(gw.adminUrl!, 'GET', '/metrics', { headers: { 'X-Admin-Token': ADMIN_TOKEN } })).status).toBe(200);
  });

  it('serves the data plane only on its own port, and the probes on both', async () => {
    const control = { ...gw, url: gw.adminUrl! };
    const key = await ok(admin(control, 'POST', `/admin/tenants/${id('split')}/keys`, {}), 201);
    expect((await api(gw, '/a', key.json.apiKey as string)).status).toBe(200);
    expectProblem(await api(control, '/a', key.json.apiKey as string), 404, 'not_found');
    for (const url of [gw.url, gw.adminUrl!]) {
      expect((await send(url, 'GET', '/healthz')).status).toBe(200);
      expect((await send(url, 'GET', '/readyz')).status).toBe(200);
    }
  });

  it('meets the same request gate as the main listener: TRACE is 405, a Host that is no authority is 400', async () => {
    expectProblem(await send(gw.adminUrl!, 'TRACE', '/admin/tenants', { headers: { 'X-Admin-Token': ADMIN_TOKEN } }), 405, 'method_not_allowed');
    expectProblem(await send(gw.adminUrl!, 'GET', '/admin/tenants', { headers: { 'X-Admin-Token': ADMIN_TOKEN, Host: 'a@evil.example' } }), 400, 'bad_request');
  });

  it('binds ADMIN_HOST, 127.0.0.1 unless told otherwise', () => {
    expect(new URL(gw.adminUrl!).hostname).toBe('127.0.0.1');
  });
});

describe('PATCH /admin/tenants/:id (RFC 7396 merge patch)', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway({});
  });
  afterAll(async () => {
    await gw?.close();
  });

  const patch = (tenantId: string, body: unknown, type = 'application/merge-patch+json') =>
    send(gw.url, 'PATCH', `/admin/tenants/${tenantId}`, {
      headers: { 'X-Admin-Token': ADMIN_TOKEN, 'Content-Type': type },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  it('merges members, removes those set to null, replaces arrays, and answers the whole tenant', async () => {
    const tenantId = id('patch');
    await ok(admin(gw, 'POST', '/admin/tenants', tenantBody(tenantId)), 201);
    const reply = await ok(patch(tenantId, { name: null, rateLimit: { maxRequests: 5 }, allowedRoutes: [{ path: '/c' }], disabled: true }), 200);
    expect(reply.json).toEqual({
      id: tenantId,
      upstreamBaseUrl: `${upstream.url}/svc`,
      allowedRoutes: [{ path: '/c' }],
      rateLimit: { windowSeconds: 60, maxRequests: 5 },
      disabled: true,
    });
    expect((await ok(admin(gw, 'GET', `/admin/tenants/${tenantId}`), 200)).json).toEqual(reply.json);
    expect(gw.logs.some((l) => l.category === 'admin' && l.action === 'tenant_update' && l.tenantId === tenantId && l.outcome === 'success')).toBe(true);
  });

  it('validates the result as a whole (400 invalid_tenant), keeps the id, and 404s an unknown tenant', async () => {
    const tenantId = id('patchbad');
    await ok(admin(gw, 'POST', '/admin/tenants', tenantBody(tenantId)), 201);
    const bad = await patch(tenantId, { rateLimit: { maxRequests: 0 }, allowedRoutes: null, colour: 'red' });
    expectProblem(bad, 400, 'invalid_tenant');
    expect(bad.json.errors.map((e: { path: string }) => e.path).sort()).toEqual(['allowedRoutes', 'colour', 'rateLimit.maxRequests']);
    expectProblem(await patch(tenantId, { id: 'other' }), 400, 'invalid_tenant');
    expectProblem(await patch(id('ghost'), { name: 'x' }), 404, 'tenant_not_found');
    expectProblem(await patch(tenantId, 'not json'), 400, 'malformed_json');
    expectProblem(await patch(tenantId, '<x/>', 'application/xml'), 415, 'unsupported_media_type');
    // Nothing of the refused patches was written.
    expect((await ok(admin(gw, 'GET', `/admin/tenants/${tenantId}`), 200)).json.name).toBe('Before');
  });
});

describe('405 method_not_allowed on known admin paths', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway({});
  });
  afterAll(async () => {
    await gw?.close();
  });

  it.each([
    ['POST', '/admin/routes', 'GET, HEAD'],
    ['DELETE', '/admin/tenants', 'GET, POST, HEAD'],
    ['POST', '/admin/tenants/acme', 'GET, PUT, PATCH, DELETE, HEAD'],
    ['PUT', '/admin/tenants/acme/keys', 'POST, GET, HEAD'],
    ['GET', '/admin/tenants/acme/keys/key_1', 'PATCH, DELETE'],
    ['GET', '/admin/explain', 'POST'],
    ['POST', '/metrics', 'GET, HEAD'],
    ['DELETE', '/admin/audit/verify', 'GET, HEAD'],
  ])('%s %s: 405 with Allow: %s', async (method, path, allow) => {
    const reply = await admin(gw, method, path);
    expectProblem(reply, 405, 'method_not_allowed');
    expect(reply.headers.allow).toBe(allow);
  });

  it('checks the token first, and leaves unknown paths 404', async () => {
    expectProblem(await admin(gw, 'POST', '/admin/routes', undefined, null), 401, 'invalid_admin_token');
    expectProblem(await admin(gw, 'POST', '/admin/nothing'), 404, 'not_found');
  });
});

describe('/metrics credentials', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway({ METRICS_TOKEN });
  });
  afterAll(async () => {
    await gw?.close();
  });

  const scrape = (headers: Record<string, string>) => send(gw.url, 'GET', '/metrics', { headers });

  it('accepts the admin token as a bearer token, the way Prometheus sends it', async () => {
    const reply = await scrape({ Authorization: `Bearer ${ADMIN_TOKEN}` });
    expect([reply.status, reply.text]).toEqual([200, expect.stringContaining('gateway_requests_total')]);
    expect((await scrape({ Authorization: `bearer ${ADMIN_TOKEN}` })).status).toBe(200);
  });

  it('accepts METRICS_TOKEN on /metrics (either header) and nowhere else', async () => {
    expect((await scrape({ Authorization: `Bearer ${METRICS_TOKEN}` })).status).toBe(200);
    expect((await scrape({ 'X-Admin-Token': METRICS_TOKEN })).status).toBe(200);
    expectProblem(await send(gw.url, 'GET', '/admin/tenants', { headers: { 'X-Admin-Token': METRICS_TOKEN } }), 401, 'invalid_admin_token');
    expectProblem(await send(gw.url, 'GET', '/admin/health', { headers: { Authorization: `Bearer ${METRICS_TOKEN}` } }), 401, 'invalid_admin_token');
  });

  it('refuses a wrong or malformed bearer token, and a bearer token on admin routes', async () => {
    expectProblem(await scrape({ Authorization: 'Bearer wrong-token-0123456789' }), 401, 'invalid_admin_token');
    expectProblem(await scrape({ Authorization: `Basic ${ADMIN_TOKEN}` }), 401, 'invalid_admin_token');
    expectProblem(await scrape({}), 401, 'invalid_admin_token');
    expectProblem(await send(gw.url, 'GET', '/admin/tenants', { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } }), 401, 'invalid_admin_token');
  });

  it('never logs either token', () => {
    expect(gw.rawLogs()).not.toContain(METRICS_TOKEN);
    expect(gw.rawLogs()).not.toContain(ADMIN_TOKEN);
  });
});
