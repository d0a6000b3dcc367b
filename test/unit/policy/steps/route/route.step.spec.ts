import { RouteStep } from '../../../../../src/policy/steps/route/route.step';
import type { Tenant } from '../../../../../src/tenants/tenant.model';
import { validateTenant } from '../../../../../src/tenants/tenant.schema';
import { decisionFor } from '../../../../support/decision';
import { gatewayErrorOf } from '../../../../support/gateway-error';

function served(input: Record<string, unknown>): Tenant {
  const result = validateTenant(input, { jwksAllowHttp: false });
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.tenant;
}

const ACME = served({
  id: 'acme',
  upstreamBaseUrl: 'https://api.acme.internal/base',
  allowedRoutes: [
    { path: '/v1/users', methods: ['GET', 'POST'] },
    { path: '/v1/products' },
    { path: '/v2/admin', methods: ['GET'] },
  ],
});

const step = new RouteStep();

/** A request that has passed the path and API-key steps. */
function request(method: string, path: string, tenant = ACME) {
  return decisionFor({ method, target: `/api${path}`, path, tenant });
}

describe('RouteStep', () => {
  it.each([
    ['GET', '/v1/users', '/v1/users'],
    ['POST', '/v1/users/42', '/v1/users'],
    ['DELETE', '/v1/products/7', '/v1/products'],
    ['GET', '/v2/admin', '/v2/admin'],
  ])('allows %s %s and attaches the matched route %s', (method, path, routePath) => {
    const req = request(method, path);
    expect(step.run(req)).toBeUndefined();
    expect(req.route?.path).toBe(routePath);
  });

  it('attaches the route object the tenant declared, with its methods', () => {
    const req = request('GET', '/v1/users/42');
    step.run(req);
    expect(req.route).toBe(ACME.allowedRoutes[0]);
    expect(req.route?.methods).toEqual(['GET', 'POST']);
  });

  it.each([
    ['GET', '/v1/orders'],
    ['GET', '/v1/users2'],
    ['GET', '/v1'],
    ['GET', '/'],
  ])('denies %s %s (no route covers the path) with 403 route_not_allowed', async (method, path) => {
    const req = request(method, path);
    const err = await gatewayErrorOf(() => step.run(req));
    expect(err.status).toBe(403);
    expect(err.code).toBe('route_not_allowed');
    expect(req.route).toBeUndefined();
  });

  it.each([
    ['DELETE', '/v1/users/42'],
    ['POST', '/v2/admin'],
    ['HEAD', '/v2/admin'],
  ])('denies %s %s (method not listed on the route) with 403 route_not_allowed', async (method, path) => {
    const req = request(method, path);
    const err = await gatewayErrorOf(() => step.run(req));
    expect(err.status).toBe(403);
    expect(err.code).toBe('route_not_allowed');
    expect(err.detail).toContain(`${method} ${path}`);
    expect(req.route).toBeUndefined();
  });

  it('denies everything for a tenant with no routes', async () => {
    const req = request('GET', '/v1/users', served({ id: 'empty', upstreamBaseUrl: 'http://u.test', allowedRoutes: [] }));
    expect((await gatewayErrorOf(() => step.run(req))).code).toBe('route_not_allowed');
  });
});

describe('RouteStep and what the upstream might read differently (SPEC §18)', () => {
  /** `/foo` open, `/foo/bar` JWT-only, `/foo/baz` GET-only. */
  const routes = [
    { path: '/foo', auth: { jwt: false } },
    { path: '/foo/bar', auth: { jwt: true } },
    { path: '/foo/baz', methods: ['GET'] },
  ];
  const idp = { issuer: 'https://idp.test', jwksUri: 'https://idp.test/jwks.json' };
  const closed = served({ id: 'closed', upstreamBaseUrl: 'http://u.test', idp, allowedRoutes: routes });
  const params = served({ id: 'params', upstreamBaseUrl: 'http://u.test', idp, allowedRoutes: routes, pathParameters: true });

  it.each(['/foo/bar;', '/foo/bar;/', '/foo/bar;jsessionid=x.css', '/foo/bar%3B', '/foo/x;y'])(
    'refuses %j with 400 bad_path: a tenant allows no path parameters by default',
    async (path) => {
      const req = request('GET', path, closed);
      const err = await gatewayErrorOf(() => step.run(req));
      expect([err.status, err.code]).toEqual([400, 'bad_path']);
      expect(err.detail).toContain('";"');
      expect(req.route).toBeUndefined();
    },
  );

  it.each([
    ['/foo/bar;', '/foo/bar', true],
    ['/foo/bar;jsessionid=x.css', '/foo/bar', true],
    ['/foo/bar%3Bx/1', '/foo/bar', true],
    ['/foo;x/other', '/foo', false],
  ])('with pathParameters matches %j under the route the servlet reading names (%s)', (path, route, jwt) => {
    const req = request('GET', path, params);
    step.run(req);
    expect(req.route?.path).toBe(route);
    expect(req.jwt?.required).toBe(jwt);
    // What is forwarded is not changed: only matching ignores the parameters.
    expect(req.path).toBe(path);
    expect(step.shows(req)).toMatchObject({ route, matchedAs: req.routePath });
  });

  it('with pathParameters also holds the request to the route that covers the path as written', async () => {
    const tenant = served({
      id: 'literal',
      upstreamBaseUrl: 'http://u.test',
      idp,
      pathParameters: true,
      allowedRoutes: [
        { path: '/a', auth: { jwt: false } },
        { path: '/', auth: { jwt: true }, methods: ['GET'] },
      ],
    });
    // `/a;x` is `/a` to a servlet container but under `/` to an upstream that keeps the parameters.
    const req = request('GET', '/a;x', tenant);
    step.run(req);
    expect([req.route?.path, req.jwt?.required]).toEqual(['/a', true]);
    const plain = request('GET', '/a/x', tenant);
    step.run(plain);
    expect([plain.route?.path, plain.jwt?.required]).toEqual(['/a', false]);
    const refused = request('DELETE', '/a;x', tenant);
    const err = await gatewayErrorOf(() => step.run(refused));
    expect(err.code).toBe('route_not_allowed');
    // Explain names the route whose methods refused it: the one the path covers as written.
    expect(step.showsRefusal(refused, err)).toEqual({ route: '/', methodAllowed: false });
  });

  it('with pathParameters still holds the method list of the route the parameters hid', async () => {
    const err = await gatewayErrorOf(() => step.run(request('DELETE', '/foo/baz;x', params)));
    expect(err.code).toBe('route_not_allowed');
  });

  it.each([
    ['/foo/BAR', '/foo/bar'],
    ['/foo/Bar/1', '/foo/bar'],
    ['/foo/BAZ', '/foo/baz'],
    ['/foo/%EF%BD%82ar', '/foo/bar'], // fullwidth "ｂ": NFKC reads "bar"
    ['/foo/%EF%BC%A2%EF%BC%A1%EF%BC%B2', '/foo/bar'], // fullwidth "ＢＡＲ"
    ['/foo/b%C4%B1r', null], // dotless ı is no ASCII letter, but its upper case is "I"
  ])('refuses %j with 400 bad_path: a case-insensitive or NFKC upstream serves %s', async (path, stricter) => {
    const tenant = served({
      id: 'case',
      upstreamBaseUrl: 'http://u.test',
      idp,
      allowedRoutes: [...routes, { path: '/foo/bir', auth: { jwt: true } }],
    });
    const err = await gatewayErrorOf(() => step.run(request('GET', path, tenant)));
    expect([err.status, err.code]).toEqual([400, 'bad_path']);
    expect(err.detail).toContain(`route ${stricter ?? '/foo/bir'} when read`);
  });

  it.each([
    ['/foo/other', '/foo'],
    ['/foo/bar', '/foo/bar'],
    ['/foo/bar/X', '/foo/bar'],
    ['/foo/barn', '/foo'],
    ['/foo/caf%C3%A9', '/foo'],
  ])('allows %j (no longer route by any reading) under %s', (path, route) => {
    const req = request('GET', path, closed);
    step.run(req);
    expect(req.route?.path).toBe(route);
  });

  it('leaves a path that matches no route as written to route_not_allowed, whatever its case', async () => {
    const only = served({ id: 'only', upstreamBaseUrl: 'http://u.test', idp, allowedRoutes: [{ path: '/foo/bar' }] });
    expect((await gatewayErrorOf(() => step.run(request('GET', '/FOO/BAR', only)))).code).toBe('route_not_allowed');
  });

  it('shows no route for a bad_path refusal and names the route for a method refusal', async () => {
    const req = request('GET', '/foo/BAR', closed);
    const err = await gatewayErrorOf(() => step.run(req));
    expect(step.showsRefusal(req, err)).toEqual({});
    const method = request('POST', '/foo/baz', closed);
    const denied = await gatewayErrorOf(() => step.run(method));
    expect(step.showsRefusal(method, denied)).toEqual({ route: '/foo/baz', methodAllowed: false });
  });
});
