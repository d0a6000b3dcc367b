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
