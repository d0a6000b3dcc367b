import { ADMIN_TOKEN, startGateway, type TestGateway } from '../support/gateway';
import { waitFor } from '../support/redis-server';
import { startUpstream, type Upstream } from '../support/upstream';
import { admin, expectProblem, send, type Reply } from './helpers/e2e-http';

/*
 * SPEC §8 logs end to end: the real app (startGateway captures every line it writes, start-up
 * included) and a real echo upstream. Secrets sent in every place a client can put them must not
 * appear anywhere in the output; trace context is logged when valid and forwarded untouched.
 */

const CATEGORIES = ['auth', 'policy', 'request', 'admin', 'system'];
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const TRACEPARENT = `00-${TRACE_ID}-00f067aa0ba902b7-01`;
const TRACESTATE = 'vendor1=opaque-value,vendor2=t61rcWkgMzE';
/** Looks like a JWT (three base64url parts) so that nothing may treat it as harmless. */
const BEARER = 'eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJTRUNSRVQtU1VCSkVDVCJ9.c2lnbmF0dXJlLVNFQ1JFVA';
const COOKIE_SECRET = 'session-cookie-SECRET-1f2e3d';
const QUERY_SECRET = 'query-token-SECRET-9a8b7c';
const WRONG_KEY = 'sk_wrong_key_SECRET_5d6e7f';
const WRONG_ADMIN_TOKEN = 'wrong-admin-token-SECRET-4c3b';

let upstream: Upstream;
let gw: TestGateway;
let apiKey: string;

/** The lines of one request (by its X-Request-Id), waiting (bounded) for its `request` line. */
async function linesOf(reply: Reply): Promise<Record<string, unknown>[]> {
  const requestId = reply.headers['x-request-id'];
  expect(typeof requestId).toBe('string');
  await waitFor(() => gw.logs.some((l) => l.category === 'request' && l.requestId === requestId && l.msg === 'request'), 2000, 'the request line');
  return gw.logs.filter((l) => l.requestId === requestId);
}

function apiCall(path: string, headers: Record<string, string>): Promise<Reply> {
  return send(gw.url, 'GET', `/api${path}`, { headers: { 'X-API-Key': apiKey, ...headers } });
}

beforeAll(async () => {
  upstream = await startUpstream();
  // debug: Nest's own start-up lines are written too, and must follow the same rules.
  gw = await startGateway({ LOG_LEVEL: 'debug' });
  const created = await admin(gw, 'POST', '/admin/tenants', {
    id: 'logs',
    upstreamBaseUrl: upstream.url,
    allowedRoutes: [{ path: '/' }],
  });
  expect(created.status).toBe(201);
  const key = await admin(gw, 'POST', '/admin/tenants/logs/keys', {});
  expect(key.status).toBe(201);
  apiKey = key.json.apiKey as string;
});

afterAll(async () => {
  await gw?.close();
  await upstream?.close();
});

describe('request lines', () => {
  it('one request line with the SPEC fields, the path without its query, and the traceId of a valid traceparent', async () => {
    const reply = await apiCall(`/echo?token=${QUERY_SECRET}`, { traceparent: TRACEPARENT, 'X-Request-Id': 'req-trace-1' });
    expect(reply.status).toBe(200);
    const lines = await linesOf(reply);
    const requestLines = lines.filter((l) => l.category === 'request');
    expect(requestLines).toHaveLength(1);
    expect(requestLines[0]).toMatchObject({
      requestId: 'req-trace-1',
      tenantId: 'logs',
      method: 'GET',
      path: '/api/echo',
      status: 200,
      durationMs: expect.any(Number),
      ip: expect.any(String),
      traceId: TRACE_ID,
    });
  });

  it.each([
    ['an all-zero trace id', `00-${'0'.repeat(32)}-00f067aa0ba902b7-01`],
    ['upper-case hex', TRACEPARENT.toUpperCase()],
    ['version ff', `ff-${TRACE_ID}-00f067aa0ba902b7-01`],
    ['garbage', 'not-a-traceparent'],
  ])('no traceId for %s', async (_label, traceparent) => {
    const reply = await apiCall('/echo', { traceparent });
    expect(reply.status).toBe(200);
    const line = (await linesOf(reply)).find((l) => l.category === 'request')!;
    expect(line).not.toHaveProperty('traceId');
  });

  it('traceparent and tracestate reach the upstream unchanged, even when the traceparent is not valid', async () => {
    for (const traceparent of [TRACEPARENT, 'not-a-traceparent']) {
      const reply = await apiCall('/trace', { traceparent, tracestate: TRACESTATE });
      expect(reply.status).toBe(200);
      expect(reply.json.headers.traceparent).toBe(traceparent);
      expect(reply.json.headers.tracestate).toBe(TRACESTATE);
    }
  });

  it('a denial has its auth or policy line and its request line, all with the X-Request-Id of the problem JSON', async () => {
    const denied = await send(gw.url, 'GET', '/api/echo', { headers: { 'X-API-Key': WRONG_KEY } });
    expectProblem(denied, 401, 'invalid_api_key');
    const lines = await linesOf(denied);
    expect(lines.map((l) => l.category).sort()).toEqual(['auth', 'request']);
    expect(lines.find((l) => l.category === 'auth')).toMatchObject({ decision: 'deny', reason: 'invalid_api_key', tenantId: 'unknown' });

    const refused = await admin(gw, 'GET', '/admin/tenants', undefined, WRONG_ADMIN_TOKEN);
    expectProblem(refused, 401, 'invalid_admin_token');
    expect((await linesOf(refused)).map((l) => l.category).sort()).toEqual(['auth', 'request']);
  });

  it('an upstream failure line carries the request id too', async () => {
    await admin(gw, 'PUT', '/admin/tenants/logs-down', {
      id: 'logs-down',
      upstreamBaseUrl: 'http://127.0.0.1:9',
      allowedRoutes: [{ path: '/' }],
    });
    const key = await admin(gw, 'POST', '/admin/tenants/logs-down/keys', {});
    const failed = await send(gw.url, 'GET', '/api/x', { headers: { 'X-API-Key': key.json.apiKey as string } });
    expectProblem(failed, 502, 'upstream_unavailable');
    const lines = await linesOf(failed);
    expect(lines.map((l) => l.msg)).toEqual(expect.arrayContaining(['upstream request failed', 'request']));
  });
});

describe('every line', () => {
  beforeAll(async () => {
    // Secrets in every place a client can put them, on both planes.
    const secrets = {
      Authorization: `Bearer ${BEARER}`,
      Cookie: `session=${COOKIE_SECRET}`,
      'X-Admin-Token': ADMIN_TOKEN,
    };
    expect((await apiCall(`/echo?token=${QUERY_SECRET}`, secrets)).status).toBe(200);
    expect((await send(gw.url, 'GET', `/api/echo?token=${QUERY_SECRET}`, { headers: { ...secrets, 'X-API-Key': WRONG_KEY } })).status).toBe(401);
    expect((await send(gw.url, 'GET', `/admin/tenants?token=${QUERY_SECRET}`, { headers: secrets })).status).toBe(200);
    expect((await send(gw.url, 'GET', `/metrics?token=${QUERY_SECRET}`, { headers: { ...secrets, 'X-Admin-Token': WRONG_ADMIN_TOKEN } })).status).toBe(401);
    await waitFor(() => gw.logs.filter((l) => l.msg === 'request' && String(l.path).endsWith('/echo')).length >= 2, 2000, 'the request lines');
  });

  it('is JSON with one of the five SPEC categories', () => {
    const raw = gw.rawLogs().split('\n');
    expect(raw.length).toBeGreaterThan(10);
    for (const line of raw) {
      const parsed = JSON.parse(line) as Record<string, unknown>;
      expect({ line, ok: CATEGORIES.includes(String(parsed.category)) }).toEqual({ line, ok: true });
    }
    // Start-up is in there: the lines Nest writes while building the app.
    expect(gw.logs.some((l) => l.category === 'system' && /Mapped \{\/metrics, GET\}/.test(String(l.msg)))).toBe(true);
  });

  it.each([
    ['the API key', () => apiKey],
    ['a wrong API key', () => WRONG_KEY],
    ['the bearer token', () => BEARER],
    ['the admin token', () => ADMIN_TOKEN],
    ['a wrong admin token', () => WRONG_ADMIN_TOKEN],
    ['the cookie', () => COOKIE_SECRET],
    ['the query string', () => QUERY_SECRET],
    ['any query string at all', () => '?token='],
  ])('never contains %s', (_label, secret) => {
    expect(gw.rawLogs()).not.toContain(secret());
  });
});

describe('LOG_LEVEL', () => {
  it('warn writes no info lines: no request lines for a served request', async () => {
    const quiet = await startGateway({ LOG_LEVEL: 'warn' });
    try {
      expect((await send(quiet.url, 'GET', '/admin/tenants', { headers: { 'X-Admin-Token': ADMIN_TOKEN } })).status).toBe(200);
      await new Promise((r) => setTimeout(r, 100));
      expect(quiet.logs.filter((l) => l.level === 'info' || l.level === 'debug')).toEqual([]);
    } finally {
      await quiet.close();
    }
  });
});
