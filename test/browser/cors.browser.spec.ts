import type { Page } from 'playwright-core';
import { createTenantWithKey } from '../e2e/helpers/e2e-http';
import { ADMIN_TOKEN, startGateway, type TestGateway } from '../support/gateway';
import {
  answered,
  browserFetch,
  CORS_FAILURE,
  countArrivals,
  launchChromium,
  SESSION_COOKIE,
  startAppUpstream,
  startPageServer,
  UPSTREAM_NOTE,
  type AppUpstream,
  type BrowserSession,
  type FetchInit,
  type PageServer,
} from './helpers/browser';

/*
 * SPEC §7 and §19 in a real browser: a page on one origin (127.0.0.1, one port) calls the gateway on
 * another (127.0.0.1, another port) with fetch, and Chromium applies CORS as it does for any app.
 * One browser for the whole file; every fetch, navigation and launch is bounded.
 */

jest.setTimeout(20_000);

interface Gateway {
  gw: TestGateway;
  /** Requests that reached the gateway, preflights included, by method and request-target. */
  arrivals: (method: string, target: string) => number;
  /** API key of the tenant allowed /v1 with a generous rate limit. */
  key: string;
}

let browser: BrowserSession | undefined;
let page: Page;
let app: PageServer;
let otherApp: PageServer;
let upstream: AppUpstream;
/** CORS_ALLOWED_HEADERS=X-App-Trace; CORS_MAX_AGE unset (600). */
let listed: Gateway;
/** Neither CORS variable: the built-in header list only; CORS_MAX_AGE=0, so no preflight is cached. */
let plain: Gateway;
/** CORS_ALLOWED_HEADERS=*. */
let reflecting: Gateway;
/** API key of a tenant of `listed` allowed one request an hour. */
let tightKey: string;
const closers: (() => Promise<void>)[] = [];

function tenant(id: string, maxRequests = 1000): Record<string, unknown> {
  return {
    id,
    upstreamBaseUrl: upstream.url,
    allowedRoutes: [{ path: '/v1' }, { path: '/v1/signed', auth: { jwt: true } }],
    auth: { jwt: false },
    // Never fetched: the route that needs a JWT is only ever called without one.
    idp: { issuer: 'https://issuer.test', jwksUri: 'http://127.0.0.1:9/jwks.json' },
    rateLimit: { windowSeconds: 3600, maxRequests },
  };
}

async function gateway(env: Record<string, string>): Promise<Gateway> {
  // The embedded store: this tier is about the browser edge, the store is covered by test/e2e.
  const gw = await startGateway({ CORS_ORIGINS: app.origin, LOG_LEVEL: 'warn', ...env });
  closers.push(() => gw.close());
  const arrivals = countArrivals(gw.app.getHttpServer());
  return { gw, arrivals, key: await createTenantWithKey(gw, tenant('browser-app')) };
}

/** fetch from the app's page to `path` on the gateway, with the tenant's key unless headers say otherwise. */
function call(target: Gateway, path: string, init: FetchInit = {}, from: Page = page) {
  return browserFetch(from, `${target.gw.url}${path}`, { ...init, headers: { 'X-API-Key': target.key, ...init.headers } });
}

const json = (text: string): Record<string, unknown> => JSON.parse(text) as Record<string, unknown>;

beforeAll(async () => {
  browser = await launchChromium();
  page = browser.page;
  app = await startPageServer();
  otherApp = await startPageServer();
  upstream = await startAppUpstream();
  closers.push(() => app.close(), () => otherApp.close(), () => upstream.close());
  listed = await gateway({ CORS_ALLOWED_HEADERS: 'X-App-Trace' });
  plain = await gateway({ CORS_MAX_AGE: '0' });
  reflecting = await gateway({ CORS_ALLOWED_HEADERS: '*' });
  tightKey = await createTenantWithKey(listed.gw, tenant('browser-tight', 1));
  await page.goto(`${app.origin}/`);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  for (const close of closers.reverse()) await close();
}, 30_000);

describe('simple requests: no preflight', () => {
  it.each(['GET', 'POST'])('%s without an API key: the app reads the 401 problem and its X-Request-Id', async (method) => {
    const path = `/api/v1/simple-${method.toLowerCase()}`;
    const init: FetchInit = { method, headers: {}, ...(method === 'POST' && { body: 'plain text' }) };
    const res = answered(await browserFetch(page, `${listed.gw.url}${path}`, init));
    expect(res.status).toBe(401);
    expect(json(res.text)).toMatchObject({ code: 'missing_api_key', requestId: res.headers['x-request-id'] });
    expect(listed.arrivals(method, path)).toBe(1);
    expect(listed.arrivals('OPTIONS', path)).toBe(0);
  });
});

describe('preflighted requests, credentials included', () => {
  it.each(['GET', 'POST', 'PUT', 'PATCH', 'DELETE'])('%s reaches the upstream with the cookie after one preflight', async (method) => {
    const path = `/api/v1/method-${method.toLowerCase()}`;
    const body = method === 'GET' || method === 'DELETE' ? undefined : JSON.stringify({ method });
    const headers: Record<string, string> = body === undefined ? {} : { 'Content-Type': 'application/json' };
    const res = answered(await call(listed, path, { method, headers, body, credentials: 'include' }));
    expect(res.status).toBe(200);
    expect(json(res.text)).toMatchObject({ method, body: body ?? '' });
    // Exposed by the gateway, so the app can read them.
    expect(res.headers['x-request-id']).toMatch(/\S/);
    expect(res.headers['ratelimit-remaining']).toMatch(/^\d+$/);
    const [arrival] = upstream.at(path.slice('/api'.length));
    expect(arrival.headers.cookie).toBe(SESSION_COOKIE);
    expect(listed.arrivals('OPTIONS', path)).toBe(1);
    expect(listed.arrivals(method, path)).toBe(1);
  });

  it('without credentials the cookie stays in the browser', async () => {
    const res = answered(await call(listed, '/api/v1/no-credentials', { credentials: 'omit' }));
    expect(res.status).toBe(200);
    expect(upstream.at('/v1/no-credentials')[0].headers.cookie).toBeUndefined();
  });
});

describe("the gateway's problems are readable", () => {
  it('401: the code of an invalid key', async () => {
    const res = answered(await call(listed, '/api/v1/bad-key', { headers: { 'X-API-Key': 'sgw_not-a-key' }, credentials: 'include' }));
    expect(res.status).toBe(401);
    expect(json(res.text).code).toBe('invalid_api_key');
  });

  it('401: the WWW-Authenticate challenge of a route that needs a JWT', async () => {
    const res = answered(await call(listed, '/api/v1/signed', { credentials: 'include' }));
    expect(res.status).toBe(401);
    expect(json(res.text).code).toBe('missing_jwt');
    expect(res.headers['www-authenticate']).toMatch(/^Bearer\b/);
  });

  it('403: the code of a route the tenant is not allowed', async () => {
    const res = answered(await call(listed, '/api/v2/elsewhere', { credentials: 'include' }));
    expect(res.status).toBe(403);
    expect(json(res.text).code).toBe('route_not_allowed');
    expect(upstream.at('/v2/elsewhere')).toEqual([]);
  });

  it('429: the code, Retry-After and RateLimit-Remaining', async () => {
    const first = answered(await call(listed, '/api/v1/limited', { headers: { 'X-API-Key': tightKey } }));
    expect(first.status).toBe(200);
    const res = answered(await call(listed, '/api/v1/limited', { headers: { 'X-API-Key': tightKey } }));
    expect(res.status).toBe(429);
    expect(json(res.text).code).toBe('rate_limited');
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    expect(res.headers['ratelimit-remaining']).toBe('0');
  });
});

describe('trace context and idempotency keys, allowed without configuration', () => {
  it('traceparent, tracestate and Idempotency-Key arrive at the upstream untouched', async () => {
    const trace = {
      traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      tracestate: 'vendor=opaque-value,other=1',
      'Idempotency-Key': '8e03978e-40d5-43e8-bc93-6894a57f9324',
    };
    const res = answered(await call(plain, '/api/v1/traced', { method: 'POST', headers: trace, body: 'pay', credentials: 'include' }));
    expect(res.status).toBe(200);
    const [arrival] = upstream.at('/v1/traced');
    expect(arrival.headers.traceparent).toBe(trace.traceparent);
    expect(arrival.headers.tracestate).toBe(trace.tracestate);
    expect(arrival.headers['idempotency-key']).toBe(trace['Idempotency-Key']);
  });
});

describe("an app's own headers", () => {
  it('pass when CORS_ALLOWED_HEADERS lists them', async () => {
    const res = answered(await call(listed, '/api/v1/app-header', { headers: { 'X-App-Trace': '1' }, credentials: 'include' }));
    expect(res.status).toBe(200);
    expect(upstream.at('/v1/app-header')[0].headers['x-app-trace']).toBe('1');
  });

  it('are refused without it: fetch fails in the browser after the preflight, and nothing is proxied', async () => {
    const res = await call(plain, '/api/v1/app-header-refused', { headers: { 'X-App-Trace': '1' } });
    expect(res).toEqual({ ok: false, error: expect.stringMatching(CORS_FAILURE) });
    expect(plain.arrivals('OPTIONS', '/api/v1/app-header-refused')).toBe(1);
    expect(plain.arrivals('GET', '/api/v1/app-header-refused')).toBe(0);
    expect(upstream.at('/v1/app-header-refused')).toEqual([]);
  });

  it('a header the list does not name stays refused', async () => {
    const res = await call(listed, '/api/v1/unlisted-header', { headers: { 'X-App-Trace': '1', 'X-Other': '2' } });
    expect(res).toEqual({ ok: false, error: expect.stringMatching(CORS_FAILURE) });
    expect(upstream.at('/v1/unlisted-header')).toEqual([]);
  });

  it('CORS_ALLOWED_HEADERS=* allows whatever the preflight asks for', async () => {
    const headers = { 'X-Correlation-Id': 'c-1', 'X-Anything-At-All': 'yes' };
    const res = answered(await call(reflecting, '/api/v1/reflected', { headers, credentials: 'include' }));
    expect(res.status).toBe(200);
    const [arrival] = upstream.at('/v1/reflected');
    expect(arrival.headers['x-correlation-id']).toBe('c-1');
    expect(arrival.headers['x-anything-at-all']).toBe('yes');
    expect(arrival.headers.cookie).toBe(SESSION_COOKIE);
  });
});

describe('an origin not in CORS_ORIGINS', () => {
  let stranger: Page;
  beforeAll(async () => {
    stranger = await browser!.context.newPage();
    await stranger.goto(`${otherApp.origin}/`);
  });
  afterAll(async () => stranger?.close());

  it('a preflighted call fails in the browser and never reaches the upstream', async () => {
    const res = await call(listed, '/api/v1/from-stranger', { credentials: 'include' }, stranger);
    expect(res).toEqual({ ok: false, error: expect.stringMatching(CORS_FAILURE) });
    expect(listed.arrivals('OPTIONS', '/api/v1/from-stranger')).toBe(1);
    expect(upstream.at('/v1/from-stranger')).toEqual([]);
  });

  it('a simple call is answered by the gateway but its response is not given to the page', async () => {
    const res = await browserFetch(stranger, `${listed.gw.url}/api/v1/simple-from-stranger`);
    expect(res).toEqual({ ok: false, error: expect.stringMatching(CORS_FAILURE) });
    expect(listed.arrivals('GET', '/api/v1/simple-from-stranger')).toBe(1);
  });
});

describe("the upstream's own CORS headers", () => {
  it("are replaced by the gateway's, and the names it exposes are added to the gateway's", async () => {
    // The upstream answers Access-Control-Allow-Origin "*": had it stayed, a credentialed fetch would fail.
    const res = answered(await call(listed, '/api/v1/exposing', { credentials: 'include' }));
    expect(res.status).toBe(200);
    expect(res.headers[UPSTREAM_NOTE.toLowerCase()]).toBe('from-the-upstream');
    expect(res.headers['x-request-id']).toMatch(/\S/);
    expect(res.headers['ratelimit-limit']).toBe('1000');
  });
});

describe('preflight caching', () => {
  it('within CORS_MAX_AGE (default 600 s) a second call sends no new preflight', async () => {
    const path = '/api/v1/cached';
    for (let i = 0; i < 2; i++) expect(answered(await call(listed, path, { credentials: 'include' })).status).toBe(200);
    expect(listed.arrivals('GET', path)).toBe(2);
    expect(listed.arrivals('OPTIONS', path)).toBe(1);
  });

  it('with CORS_MAX_AGE=0 every call is preflighted again', async () => {
    const path = '/api/v1/not-cached';
    for (let i = 0; i < 2; i++) expect(answered(await call(plain, path, { credentials: 'include' })).status).toBe(200);
    expect(plain.arrivals('GET', path)).toBe(2);
    expect(plain.arrivals('OPTIONS', path)).toBe(2);
  });
});

describe('the admin API from an allowed origin', () => {
  const adminCall = (path: string, init: FetchInit = {}) =>
    browserFetch(page, `${listed.gw.url}${path}`, { ...init, headers: { 'X-Admin-Token': ADMIN_TOKEN, ...init.headers } });

  it('reads a tenant, issues a key, and the new key works', async () => {
    const read = answered(await adminCall('/admin/tenants/browser-app'));
    expect(read.status).toBe(200);
    expect(json(read.text).id).toBe('browser-app');
    const issued = answered(
      await adminCall('/admin/tenants/browser-app/keys', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' }),
    );
    expect(issued.status).toBe(201);
    const apiKey = json(issued.text).apiKey as string;
    const used = answered(await call(listed, '/api/v1/with-new-key', { headers: { 'X-API-Key': apiKey } }));
    expect(used.status).toBe(200);
  });

  it('a wrong token gets a readable 401 problem', async () => {
    const res = answered(await adminCall('/admin/tenants', { headers: { 'X-Admin-Token': 'wrong-token-0123456789' } }));
    expect(res.status).toBe(401);
    expect(json(res.text).code).toBe('invalid_admin_token');
  });
});
