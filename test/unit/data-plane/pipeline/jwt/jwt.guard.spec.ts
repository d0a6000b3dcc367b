import { JwtGuard } from '../../../../../src/data-plane/pipeline/jwt/jwt.guard';
import type { AllowedRoute, Tenant } from '../../../../../src/tenants/tenant.model';
import { validateTenant } from '../../../../../src/tenants/tenant.validator';
import { fakeHttpContext, fakeRequest } from '../../../../support/fake-execution-context';
import { gatewayErrorOf } from '../../../../support/gateway-error';

function tenant(input: Record<string, unknown>): Tenant {
  const result = validateTenant(input, { jwksAllowHttp: false });
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.tenant;
}

const IDP = { issuer: 'https://auth.acme.com', jwksUri: 'https://auth.acme.com/.well-known/jwks.json' };

/** The SPEC §3 example: an idp, tenant-level jwt off, one route that turns it on. */
const ACME = tenant({
  id: 'acme',
  upstreamBaseUrl: 'https://api.acme.internal',
  allowedRoutes: [{ path: '/v1/users', auth: { jwt: true } }, { path: '/v1/products', auth: { jwt: false } }, { path: '/v2/admin' }],
  auth: { jwt: false },
  idp: IDP,
});

/** An idp and no jwt setting anywhere: required by default. */
const SECURE_BY_DEFAULT = tenant({
  id: 'secure',
  upstreamBaseUrl: 'https://api.secure.internal',
  allowedRoutes: [{ path: '/' }],
  idp: IDP,
});

/** No idp and no jwt setting: not required. */
const NO_IDP = tenant({ id: 'plain', upstreamBaseUrl: 'https://api.plain.internal', allowedRoutes: [{ path: '/' }] });

const guard = new JwtGuard();

function routeOf(t: Tenant, path: string): AllowedRoute {
  const route = t.allowedRoutes.find((r) => r.path === path);
  if (!route) throw new Error(`no route ${path}`);
  return route;
}

/** A request that has passed the path, API-key and route steps. */
function request(t: Tenant, routePath: string, authorization?: string) {
  return fakeRequest({
    originalUrl: `/api${routePath}`,
    headers: authorization === undefined ? {} : { authorization },
    ctx: { path: routePath, tenant: t, route: routeOf(t, routePath) },
  });
}

describe('JwtGuard', () => {
  describe('on a route that does not require a JWT', () => {
    it.each([
      ['a route with jwt: false', ACME, '/v1/products'],
      ['a route inheriting the tenant jwt: false', ACME, '/v2/admin'],
      ['a tenant without idp', NO_IDP, '/'],
    ])('passes %s without any Authorization header', (_label, t, routePath) => {
      expect(guard.canActivate(fakeHttpContext(request(t, routePath)))).toBe(true);
    });

    it('passes whatever Authorization the client sends (it goes upstream unchanged)', () => {
      expect(guard.canActivate(fakeHttpContext(request(ACME, '/v1/products', 'Basic dXNlcjpwYXNz')))).toBe(true);
    });
  });

  describe('on a route that requires a JWT', () => {
    it.each([
      ['the route says so', ACME, '/v1/users'],
      ['the tenant has an idp and says nothing (secure by default)', SECURE_BY_DEFAULT, '/'],
    ])('answers 401 missing_jwt with WWW-Authenticate: Bearer without Authorization, when %s', async (_label, t, routePath) => {
      const err = await gatewayErrorOf(() => guard.canActivate(fakeHttpContext(request(t, routePath))));
      expect(err.status).toBe(401);
      expect(err.code).toBe('missing_jwt');
      expect(err.headers).toEqual({ 'WWW-Authenticate': 'Bearer' });
    });

    it.each([
      ['a Basic credential', 'Basic dXNlcjpwYXNz'],
      ['the Bearer scheme without a token', 'Bearer'],
      ['the Bearer scheme and spaces only', 'Bearer   '],
      ['a token without a scheme', 'eyJhbGciOiJSUzI1NiJ9.e30.c2ln'],
      ['an empty value', ''],
    ])('answers 401 missing_jwt for %s', async (_label, authorization) => {
      const err = await gatewayErrorOf(() => guard.canActivate(fakeHttpContext(request(ACME, '/v1/users', authorization))));
      expect(err.status).toBe(401);
      expect(err.code).toBe('missing_jwt');
      expect(err.headers?.['WWW-Authenticate']).toBe('Bearer');
    });

    it.each([
      ['a bearer token', 'Bearer eyJhbGciOiJSUzI1NiJ9.e30.c2ln'],
      ['a lower-case scheme', 'bearer eyJhbGciOiJSUzI1NiJ9.e30.c2ln'],
      ['a token that is not even a JWT', 'Bearer not-a-jwt'],
    ])('never passes %s: 503 jwks_unavailable, as no verifier is available', async (_label, authorization) => {
      const err = await gatewayErrorOf(() => guard.canActivate(fakeHttpContext(request(ACME, '/v1/users', authorization))));
      expect(err.status).toBe(503);
      expect(err.code).toBe('jwks_unavailable');
    });

    it('does not set an authenticated subject', async () => {
      const req = request(SECURE_BY_DEFAULT, '/', 'Bearer eyJhbGciOiJSUzI1NiJ9.e30.c2ln');
      await gatewayErrorOf(() => guard.canActivate(fakeHttpContext(req)));
      expect(req.ctx.authSubject).toBeUndefined();
    });
  });
});
