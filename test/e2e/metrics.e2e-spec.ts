import http from 'node:http';
import { Metrics } from '../../src/observability/metrics';
import { ADMIN_TOKEN, startGateway, type TestGateway } from '../support/gateway';
import { parseExposition, sumOf, type Sample } from '../support/prometheus-text';
import { freePort, waitFor } from '../support/redis-server';
import { startUpstream, type Upstream } from '../support/upstream';
import { admin, api, createTenantWithKey, expectProblem, send, type Reply } from './helpers/e2e-http';

/*
 * SPEC §8 metrics end to end: the real app on the embedded store, a real echo upstream, and a known
 * sequence of requests between two scrapes of GET /metrics; every counter must move by exactly what
 * the sequence explains, and nothing else.
 */

const UPSTREAM_TIMEOUT_MS = 400;

let upstream: Upstream;
let gw: TestGateway;
let deadUpstream: string;
const keys: Record<string, string> = {};

async function createTenant(id: string, body: Record<string, unknown>): Promise<void> {
  keys[id] = await createTenantWithKey(gw, { id, ...body });
}

async function scrape(token: string | null = ADMIN_TOKEN): Promise<Reply> {
  return send(gw.url, 'GET', '/metrics', { headers: token === null ? {} : { 'X-Admin-Token': token } });
}

/** A scrape through HTTP, checked line by line, as samples. */
async function samples(): Promise<Sample[]> {
  const reply = await scrape();
  expect(reply.status).toBe(200);
  return parseExposition(reply.text);
}

/** Waits (bounded) until every data-plane request has been recorded: they are counted on 'close'. */
async function settled(): Promise<void> {
  const registry = gw.app.get(Metrics).registry;
  await waitFor(
    async () => (await registry.getSingleMetric('gateway_inflight_requests')?.get())?.values[0]?.value === 0,
    2000,
    'no request in flight',
    10,
  );
}

beforeAll(async () => {
  upstream = await startUpstream();
  deadUpstream = `http://127.0.0.1:${await freePort()}`;
  gw = await startGateway({ UPSTREAM_TIMEOUT_MS: String(UPSTREAM_TIMEOUT_MS) });
  await createTenant('good', {
    upstreamBaseUrl: upstream.url,
    allowedRoutes: [{ path: '/ok' }, { path: '/status' }, { path: '/slow' }, { path: '/cut' }, { path: '/secure', auth: { jwt: true } }],
    auth: { jwt: false },
    // Never fetched: the JWT requests below carry no token at all.
    idp: { issuer: 'https://issuer.test', jwksUri: 'http://127.0.0.1:9/jwks.json' },
  });
  await createTenant('off', { upstreamBaseUrl: upstream.url, allowedRoutes: [{ path: '/' }], disabled: true });
  await createTenant('down', { upstreamBaseUrl: deadUpstream, allowedRoutes: [{ path: '/' }] });
  // One request per hour: the second is refused.
  await createTenant('tight', { upstreamBaseUrl: upstream.url, allowedRoutes: [{ path: '/' }], rateLimit: { windowSeconds: 3600, maxRequests: 1 } });
});

afterAll(async () => {
  await gw?.close();
  await upstream?.close();
});

describe('GET /metrics', () => {
  it('needs the admin token: missing or wrong is 401 invalid_admin_token', async () => {
    expectProblem(await scrape(null), 401, 'invalid_admin_token');
    expectProblem(await scrape('wrong-token'), 401, 'invalid_admin_token');
    expectProblem(await send(gw.url, 'GET', '/metrics/anything'), 401, 'invalid_admin_token');
  });

  it('answers the Prometheus text format with every SPEC §8 metric and the process metrics', async () => {
    const reply = await scrape();
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toBe(gw.app.get(Metrics).registry.contentType);
    expect(reply.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const types = new Map([...reply.text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1], m[2]]));
    expect(Object.fromEntries([...types].filter(([name]) => /^(gateway|control)_/.test(name)))).toEqual({
      gateway_requests_total: 'counter',
      gateway_auth_failures_total: 'counter',
      gateway_route_denials_total: 'counter',
      gateway_rate_limited_total: 'counter',
      gateway_denials_total: 'counter',
      gateway_upstream_errors_total: 'counter',
      gateway_internal_errors_total: 'counter',
      gateway_latency_ms: 'histogram',
      gateway_upstream_latency_ms: 'histogram',
      gateway_websocket_connections: 'gauge',
      gateway_inflight_requests: 'gauge',
      gateway_store_up: 'gauge',
      gateway_jwks_fetches_total: 'counter',
      gateway_worker_restarts_total: 'counter',
      control_requests_total: 'counter',
      control_mutations_total: 'counter',
      control_errors_total: 'counter',
      control_latency_ms: 'histogram',
    });
    expect(types.get('process_cpu_seconds_total')).toBe('counter');
    // Throws on the first line that is not a comment or a `name{labels} value` sample.
    expect(parseExposition(reply.text).length).toBeGreaterThan(0);
  });
});

describe('after a known sequence of requests', () => {
  /** One row per labelled series that must move, by exactly `delta`; every other series of `name` stays put. */
  type Expectation = [name: string, labels: Record<string, string>, delta: number];
  let before: Sample[];
  let after: Sample[];
  const expected: Expectation[] = [];
  /** Sends `count` requests, expects `status` of each, and records what each must count. */
  async function expectRequests(count: number, status: number, send: () => Promise<Reply>, counts: Expectation[]) {
    for (let i = 0; i < count; i++) {
      const reply = await send();
      expect([reply.status, reply.text.slice(0, 200)]).toEqual([status, reply.text.slice(0, 200)]);
    }
    for (const [name, labels, delta] of counts) expected.push([name, labels, delta * count]);
  }
  /** The request counter and the latency histogram move together for each data-plane request. */
  const data = (tenantId: string, status: number): Expectation[] => [
    ['gateway_requests_total', { tenantId, status: String(status) }, 1],
    ['gateway_latency_ms_count', { tenantId, status: String(status) }, 1],
  ];
  const control = (endpoint: string, status: number): Expectation[] => [
    ['control_requests_total', { endpoint, status: String(status) }, 1],
    ['control_latency_ms_count', { endpoint }, 1],
  ];
  const upstreamOf = { tenantId: 'good', upstream: '' };

  beforeAll(async () => {
    upstreamOf.upstream = new URL(upstream.url).origin;
    await settled();
    before = await samples();

    await expectRequests(3, 200, () => api(gw, '/ok', keys.good), [
      ...data('good', 200),
      ['gateway_upstream_latency_ms_count', upstreamOf, 1],
    ]);
    await expectRequests(1, 401, () => api(gw, '/ok', null), [
      ...data('unknown', 401),
      ['gateway_auth_failures_total', { tenantId: 'unknown', reason: 'missing_api_key' }, 1],
    ]);
    await expectRequests(2, 401, () => api(gw, '/ok', 'sk_not_a_key_of_anyone_0123456789'), [
      ...data('unknown', 401),
      ['gateway_auth_failures_total', { tenantId: 'unknown', reason: 'invalid_api_key' }, 1],
    ]);
    await expectRequests(2, 403, () => api(gw, '/elsewhere', keys.good), [
      ...data('good', 403),
      ['gateway_route_denials_total', { tenantId: 'good' }, 1],
    ]);
    // A disabled tenant is resolved (so labelled), denied, and neither an auth failure nor a route denial.
    await expectRequests(1, 403, () => api(gw, '/ok', keys.off), data('off', 403));
    await expectRequests(1, 401, () => api(gw, '/secure', keys.good), [
      ...data('good', 401),
      ['gateway_auth_failures_total', { tenantId: 'good', reason: 'missing_jwt' }, 1],
    ]);
    // The upstream's own 500 passes through and counts as an upstream error, with its latency.
    await expectRequests(1, 500, () => api(gw, '/status/500', keys.good), [
      ...data('good', 500),
      ['gateway_upstream_errors_total', { tenantId: 'good' }, 1],
      ['gateway_upstream_latency_ms_count', upstreamOf, 1],
    ]);
    // Transport errors: nothing listening (502), no answer in time (504); no upstream latency for either.
    await expectRequests(1, 502, () => api(gw, '/ok', keys.down), [
      ...data('down', 502),
      ['gateway_upstream_errors_total', { tenantId: 'down' }, 1],
    ]);
    await expectRequests(1, 504, () => api(gw, `/slow/${UPSTREAM_TIMEOUT_MS * 10}`, keys.good), [
      ...data('good', 504),
      ['gateway_upstream_errors_total', { tenantId: 'good' }, 1],
    ]);
    // The bucket of one admits the first request and refuses the next two.
    await expectRequests(1, 200, () => api(gw, '/ok', keys.tight), [
      ...data('tight', 200),
      ['gateway_upstream_latency_ms_count', { tenantId: 'tight', upstream: upstreamOf.upstream }, 1],
    ]);
    await expectRequests(2, 429, () => api(gw, '/ok', keys.tight), [
      ...data('tight', 429),
      ['gateway_rate_limited_total', { tenantId: 'tight' }, 1],
    ]);
    expected.push(['gateway_internal_errors_total', {}, 0]);

    // Control plane: endpoints are route templates; what matched no route (or was refused before
    // routing) shares one value. The first scrape is counted once it has been answered.
    expected.push(...control('/metrics', 200));
    await expectRequests(1, 200, () => admin(gw, 'GET', '/admin/tenants/good'), control('/admin/tenants/:id', 200));
    await expectRequests(1, 404, () => admin(gw, 'GET', '/admin/tenants/nobody'), control('/admin/tenants/:id', 404));
    await expectRequests(1, 200, () => admin(gw, 'GET', '/admin/tenants/good/keys'), control('/admin/tenants/:id/keys', 200));
    await expectRequests(1, 404, () => admin(gw, 'GET', '/admin/no/such/thing'), control('unmatched', 404));
    await expectRequests(1, 401, () => admin(gw, 'GET', '/admin/tenants/good', undefined, null), control('unmatched', 401));
    await expectRequests(1, 401, () => scrape(null), control('unmatched', 401));
    // Health probes are not control-plane traffic: they count nowhere.
    await expectRequests(1, 200, () => send(gw.url, 'GET', '/healthz'), []);
    await expectRequests(1, 200, () => send(gw.url, 'GET', '/readyz'), []);
    expected.push(['control_errors_total', {}, 0]);

    await settled();
    after = await samples();
  });

  const delta = (name: string, labels: Record<string, string> = {}) => sumOf(after, name, labels) - sumOf(before, name, labels);

  it('moves each expected series by exactly the expected amount', () => {
    // Rows naming the same series add up.
    const want: Record<string, number> = {};
    const got: Record<string, number> = {};
    for (const [name, labels, n] of expected) {
      const key = `${name} ${JSON.stringify(labels)}`;
      want[key] = (want[key] ?? 0) + n;
      got[key] = delta(name, labels);
    }
    expect(got).toEqual(want);
  });

  it.each([
    'gateway_requests_total',
    'gateway_latency_ms_count',
    'gateway_auth_failures_total',
    'gateway_route_denials_total',
    'gateway_upstream_errors_total',
    'gateway_upstream_latency_ms_count',
    'control_requests_total',
    'control_latency_ms_count',
  ])('moves %s by nothing more than those series', (name) => {
    const total = expected.filter(([n]) => n === name).reduce((s, [, , d]) => s + d, 0);
    expect(delta(name)).toBe(total);
  });

  it('counts 16 data-plane requests in all and has none in flight afterwards', () => {
    expect(delta('gateway_requests_total')).toBe(16);
    expect(sumOf(after, 'gateway_inflight_requests')).toBe(0);
  });

  it('observes latencies in the SPEC buckets (1 to 3000 ms, including 50)', () => {
    const les = new Set(after.filter((s) => s.name === 'gateway_latency_ms_bucket').map((s) => s.labels.le));
    expect([...les]).toEqual(expect.arrayContaining(['1', '50', '3000', '+Inf']));
    // The timed-out request took at least the upstream timeout: it is not in any bucket below it.
    const le250 = sumOf(after, 'gateway_latency_ms_bucket', { tenantId: 'good', status: '504', le: '250' });
    expect(le250).toBe(0);
  });

  it('labels the upstream latency with the origin only, never a path', () => {
    const upstreams = new Set(after.filter((s) => s.name === 'gateway_upstream_latency_ms_count').map((s) => s.labels.upstream));
    expect([...upstreams]).toEqual([upstreamOf.upstream]);
    expect(upstreamOf.upstream).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('never uses a raw path as an endpoint label', () => {
    const endpoints = new Set(after.filter((s) => s.name === 'control_requests_total').map((s) => s.labels.endpoint));
    for (const endpoint of endpoints) expect(['unmatched', '/metrics'].includes(endpoint) || endpoint.startsWith('/admin/')).toBe(true);
    expect([...endpoints].filter((e) => /nobody|no\/such|good/.test(e))).toEqual([]);
  });
});

/** What a client saw of a response: its status, the body bytes, and whether it ended cleanly, was cut, or hung. */
function download(path: string, apiKey: string, hangMs: number): Promise<{ status: number; bytes: number; outcome: string }> {
  return new Promise((resolve) => {
    const { hostname, port } = new URL(gw.url);
    let status = 0;
    let bytes = 0;
    const req = http.get({ host: hostname, port, path: `/api${path}`, headers: { 'X-API-Key': apiKey }, agent: false }, (res) => {
      status = res.statusCode ?? 0;
      res.on('data', (chunk: Buffer) => (bytes += chunk.length));
      res.on('error', () => undefined);
      res.on('close', () => done(res.complete ? 'complete' : 'cut'));
    });
    req.on('error', () => done('cut'));
    const timer = setTimeout(() => done('hung'), hangMs);
    function done(outcome: string): void {
      clearTimeout(timer);
      req.destroy();
      resolve({ status, bytes, outcome });
    }
  });
}

describe('an upstream that drops the connection in the middle of its response', () => {
  it('cuts the client connection at once and counts one upstream error', async () => {
    await settled();
    const before = await samples();
    // The upstream announces 1000 bytes, sends 500 and goes away: the client must not wait for the rest.
    const seen = await download('/cut/1000', keys.good, 5000);
    expect(seen).toEqual({ status: 200, bytes: 500, outcome: 'cut' });
    await settled();
    const after = await samples();
    const delta = (name: string, labels: Record<string, string> = {}) => sumOf(after, name, labels) - sumOf(before, name, labels);
    expect(delta('gateway_upstream_errors_total', { tenantId: 'good' })).toBe(1);
    expect(delta('gateway_requests_total', { tenantId: 'good' })).toBe(1);
    expect(sumOf(after, 'gateway_inflight_requests')).toBe(0);
  });
});
