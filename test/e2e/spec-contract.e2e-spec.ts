import { ADMIN_TOKEN, startGateway, type TestGateway } from '../support/gateway';
import { startUpstream, type Upstream } from '../support/upstream';
import { api, createTenantWithKey, expectProblem, send } from './helpers/e2e-http';

/**
 * SPEC promises checked end to end that the other suites leave open:
 * §5.4 an upstream's own 5xx passes through untouched (never rewritten into problem JSON), and
 * §7 CORS is handled before any guard on the control plane too (its allowed headers name X-Admin-Token).
 */

let upstream: Upstream;
let gw: TestGateway;
let apiKey: string;
const listed = 'https://console.example.com';
const unlisted = 'https://evil.example.net';

beforeAll(async () => {
  upstream = await startUpstream();
  gw = await startGateway({ CORS_ORIGINS: listed });
  apiKey = await createTenantWithKey(gw, {
    id: 'spec-contract',
    upstreamBaseUrl: upstream.url,
    allowedRoutes: [{ path: '/' }],
    rateLimit: { windowSeconds: 60, maxRequests: 1000 },
  });
});

afterAll(async () => {
  await gw?.close();
  await upstream?.close();
});

describe('§5.4 upstream 5xx pass through untouched', () => {
  it.each([500, 502, 503, 504])("the upstream's own %i keeps its status, content type, headers and body", async (status) => {
    const res = await api(gw, `/status/${status}`, apiKey);
    expect(res.status).toBe(status);
    expect(res.headers['content-type']).toBe('application/json');
    expect(res.headers['x-upstream']).toBe('yes');
    expect(res.text).toBe(JSON.stringify({ upstreamStatus: status }));
    // §5.3: the gateway still adds its request id and the rate-limit headers.
    expect(res.headers['x-request-id']).toEqual(expect.any(String));
    expect(res.headers['ratelimit-limit']).toBe('1000');
  });
});

describe('§7 CORS on the control plane', () => {
  const preflight = (path: string, origin: string) =>
    send(gw.url, 'OPTIONS', path, {
      headers: { Origin: origin, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'x-admin-token, content-type' },
    });

  it.each(['/admin/tenants', '/admin/explain', '/metrics'])(
    'a preflight to %s from a listed origin needs no admin token: 204 with the allow headers',
    async (path) => {
      const res = await preflight(path, listed);
      expect(res.status).toBe(204);
      expect(res.text).toBe('');
      expect(res.headers['access-control-allow-origin']).toBe(listed);
      expect(res.headers['access-control-allow-credentials']).toBe('true');
      const allowed = String(res.headers['access-control-allow-headers']).toLowerCase().split(/\s*,\s*/);
      expect(allowed).toEqual(expect.arrayContaining(['content-type', 'authorization', 'x-api-key', 'x-admin-token', 'x-request-id']));
      expect(res.headers.vary).toMatch(/\bOrigin\b/);
    },
  );

  it('a preflight to the control plane from an unlisted origin gets no allow headers', async () => {
    const res = await preflight('/admin/tenants', unlisted);
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    expect(res.headers['access-control-allow-headers']).toBeUndefined();
    expect(res.headers.vary).toMatch(/\bOrigin\b/);
  });

  it('admin answers, granted or denied, carry the CORS headers and Vary: Origin for a listed origin', async () => {
    const denied = await send(gw.url, 'GET', '/admin/tenants', { headers: { Origin: listed } });
    expectProblem(denied, 401, 'invalid_admin_token');
    expect(denied.headers['access-control-allow-origin']).toBe(listed);
    expect(denied.headers.vary).toMatch(/\bOrigin\b/);

    const granted = await send(gw.url, 'GET', '/admin/health', {
      headers: { Origin: listed, 'X-Admin-Token': ADMIN_TOKEN },
    });
    expect(granted.status).toBe(200);
    expect(granted.headers['access-control-allow-origin']).toBe(listed);
    expect(granted.headers['access-control-allow-credentials']).toBe('true');
    expect(granted.headers.vary).toMatch(/\bOrigin\b/);
  });

  it('unauthenticated health endpoints carry Vary: Origin too', async () => {
    for (const path of ['/healthz', '/readyz']) {
      const res = await send(gw.url, 'GET', path, { headers: { Origin: unlisted } });
      expect(res.status).toBe(200);
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
      expect(res.headers.vary).toMatch(/\bOrigin\b/);
    }
  });
});
