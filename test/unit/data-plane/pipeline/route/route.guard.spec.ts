import { RouteGuard } from '../../../../../src/data-plane/pipeline/route/route.guard';
import { compileRoutes } from '../../../../../src/policy/route-matcher';
import { validateTenant } from '../../../../../src/tenants/tenant.schema';
import type { ServedTenant } from '../../../../../src/tenants/tenant.repository';
import { fakeHttpContext, fakeRequest } from '../../../../support/fake-execution-context';
import { gatewayErrorOf } from '../../../../support/gateway-error';

function served(input: Record<string, unknown>): ServedTenant {
  const result = validateTenant(input, { jwksAllowHttp: false });
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return { kind: 'ok', tenant: result.tenant, routes: compileRoutes(result.tenant.allowedRoutes) };
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

const guard = new RouteGuard();

/** A request that has passed the path and API-key steps. */
function request(method: string, path: string, tenant = ACME) {
  return fakeRequest({ method, originalUrl: `/api${path}`, ctx: { path, tenant: tenant.tenant, routes: tenant.routes } });
}

describe('RouteGuard', () => {
  it.each([
    ['GET', '/v1/users', '/v1/users'],
    ['POST', '/v1/users/42', '/v1/users'],
    ['DELETE', '/v1/products/7', '/v1/products'],
    ['GET', '/v2/admin', '/v2/admin'],
  ])('allows %s %s and attaches the matched route %s', (method, path, routePath) => {
    const req = request(method, path);
    expect(guard.canActivate(fakeHttpContext(req))).toBe(true);
    expect(req.ctx.route?.path).toBe(routePath);
  });

  it('attaches the route object the tenant declared, with its methods', () => {
    const req = request('GET', '/v1/users/42');
    guard.canActivate(fakeHttpContext(req));
    expect(req.ctx.route).toBe(ACME.tenant.allowedRoutes[0]);
    expect(req.ctx.route?.methods).toEqual(['GET', 'POST']);
  });

  it.each([
    ['GET', '/v1/orders'],
    ['GET', '/v1/users2'],
    ['GET', '/v1'],
    ['GET', '/'],
  ])('denies %s %s (no route covers the path) with 403 route_not_allowed', async (method, path) => {
    const req = request(method, path);
    const err = await gatewayErrorOf(() => guard.canActivate(fakeHttpContext(req)));
    expect(err.status).toBe(403);
    expect(err.code).toBe('route_not_allowed');
    expect(req.ctx.route).toBeUndefined();
  });

  it.each([
    ['DELETE', '/v1/users/42'],
    ['POST', '/v2/admin'],
    ['HEAD', '/v2/admin'],
  ])('denies %s %s (method not listed on the route) with 403 route_not_allowed', async (method, path) => {
    const req = request(method, path);
    const err = await gatewayErrorOf(() => guard.canActivate(fakeHttpContext(req)));
    expect(err.status).toBe(403);
    expect(err.code).toBe('route_not_allowed');
    expect(err.detail).toContain(`${method} ${path}`);
    expect(req.ctx.route).toBeUndefined();
  });

  it('denies everything for a tenant with no routes', async () => {
    const req = request('GET', '/v1/users', served({ id: 'empty', upstreamBaseUrl: 'http://u.test', allowedRoutes: [] }));
    expect((await gatewayErrorOf(() => guard.canActivate(fakeHttpContext(req)))).code).toBe('route_not_allowed');
  });
});
