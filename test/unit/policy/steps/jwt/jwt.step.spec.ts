import { JwtStep } from '../../../../../src/policy/steps/jwt/jwt.step';
import { jwtRequirement } from '../../../../../src/policy/steps/route/jwt-rule';
import { JwksCache } from '../../../../../src/policy/steps/jwt/jwks-cache';
import { JwtVerifier } from '../../../../../src/policy/steps/jwt/jwt-verifier';
import type { AllowedRoute, Tenant } from '../../../../../src/tenants/tenant.model';
import { validateTenant } from '../../../../../src/tenants/tenant.schema';
import { decisionFor } from '../../../../support/decision';
import { gatewayErrorOf } from '../../../../support/gateway-error';
import { makeKey, signToken, type SigningKey } from '../../../../support/jwks-server';

function tenant(input: Record<string, unknown>): Tenant {
  const result = validateTenant(input, { jwksAllowHttp: false });
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.tenant;
}

const ISSUER = 'https://auth.acme.com';

let key: SigningKey;
let ACME: Tenant;
let SECURE_BY_DEFAULT: Tenant;
let NO_IDP: Tenant;
let step: JwtStep;

beforeAll(async () => {
  key = await makeKey('ES256');
  // Inline keys: the step is tested without any network (the verifier has its own tests).
  const idp = { issuer: ISSUER, jwks: { keys: [key.jwk] } };
  /** The SPEC §3 example: an idp, tenant-level jwt off, one route that turns it on. */
  ACME = tenant({
    id: 'acme',
    upstreamBaseUrl: 'https://api.acme.internal',
    allowedRoutes: [{ path: '/v1/users', auth: { jwt: true } }, { path: '/v1/products', auth: { jwt: false } }, { path: '/v2/admin' }],
    auth: { jwt: false },
    idp,
  });
  /** An idp and no jwt setting anywhere: required by default. */
  SECURE_BY_DEFAULT = tenant({ id: 'secure', upstreamBaseUrl: 'https://api.secure.internal', allowedRoutes: [{ path: '/' }], idp });
  /** No idp and no jwt setting: not required. */
  NO_IDP = tenant({ id: 'plain', upstreamBaseUrl: 'https://api.plain.internal', allowedRoutes: [{ path: '/' }] });
  step = new JwtStep(new JwtVerifier(new JwksCache(), { jwtClockToleranceS: 5 }));
});

function routeOf(t: Tenant, path: string): AllowedRoute {
  const route = t.allowedRoutes.find((r) => r.path === path);
  if (!route) throw new Error(`no route ${path}`);
  return route;
}

/** A request that has passed the path, API-key and route steps. */
function request(t: Tenant, routePath: string, authorization?: string) {
  const route = routeOf(t, routePath);
  return decisionFor({
    target: `/api${routePath}`,
    headers: authorization === undefined ? {} : { authorization },
    path: routePath,
    tenant: t,
    route,
    jwt: jwtRequirement(t, route),
  });
}

describe('JwtStep', () => {
  describe('on a route that does not require a JWT', () => {
    it.each([
      ['a route with jwt: false', () => ACME, '/v1/products'],
      ['a route inheriting the tenant jwt: false', () => ACME, '/v2/admin'],
      ['a tenant without idp', () => NO_IDP, '/'],
    ])('passes %s without any Authorization header', async (_label, t, routePath) => {
      const req = request(t(), routePath);
      expect(await step.run(req)).toBeUndefined();
      expect(req.authSubject).toBeUndefined();
    });

    it('passes whatever Authorization the client sends (it goes upstream unchanged)', async () => {
      expect(await step.run(request(ACME, '/v1/products', 'Basic dXNlcjpwYXNz'))).toBeUndefined();
    });
  });

  describe('on a route that requires a JWT', () => {
    it.each([
      ['the route says so', () => ACME, '/v1/users'],
      ['the tenant has an idp and says nothing (secure by default)', () => SECURE_BY_DEFAULT, '/'],
    ])('answers 401 missing_jwt with WWW-Authenticate: Bearer without Authorization, when %s', async (_label, t, routePath) => {
      const err = await gatewayErrorOf(() => step.run((request(t(), routePath))));
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
      const err = await gatewayErrorOf(() => step.run((request(ACME, '/v1/users', authorization))));
      expect(err.status).toBe(401);
      expect(err.code).toBe('missing_jwt');
      expect(err.headers?.['WWW-Authenticate']).toBe('Bearer');
    });

    it('passes a verified token and records its sub as the subject', async () => {
      const req = request(ACME, '/v1/users', `Bearer ${await signToken(key, { iss: ISSUER, sub: 'user-7' })}`);
      expect(await step.run(req)).toBeUndefined();
      expect(req.authSubject).toBe('user-7');
    });

    it.each([
      ['a token that is not a JWT', () => Promise.resolve('not-a-jwt')],
      ['a token from another issuer', () => signToken(key, { iss: 'https://elsewhere.test', sub: 'user-7' })],
      ['an expired token', () => signToken(key, { iss: ISSUER, sub: 'user-7' }, { expiresIn: -60 })],
    ])('answers 401 invalid_jwt for %s and sets no subject', async (_label, token) => {
      const req = request(SECURE_BY_DEFAULT, '/', `bearer ${await token()}`);
      const err = await gatewayErrorOf(() => step.run(req));
      expect([err.status, err.code, err.headers?.['WWW-Authenticate']]).toEqual([401, 'invalid_jwt', 'Bearer error="invalid_token"']);
      expect(req.authSubject).toBeUndefined();
    });
  });
});
