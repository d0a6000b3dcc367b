import { jwtRequirement } from '../../../../../src/policy/steps/route/jwt-rule';
import type { AllowedRoute, Tenant } from '../../../../../src/tenants/tenant.model';

const idp = { issuer: 'https://auth.example.com', jwksUri: 'https://auth.example.com/jwks.json' };

function tenant(extra: Partial<Tenant> = {}): Tenant {
  return { id: 'acme', upstreamBaseUrl: 'https://upstream.example.com', allowedRoutes: [], ...extra };
}

describe('jwtRequirement(...).required', () => {
  const route: AllowedRoute = { path: '/v1' };

  it('uses the route setting first', () => {
    expect(jwtRequirement(tenant({ idp, auth: { jwt: true } }), { path: '/v1', auth: { jwt: false } }).required).toBe(false);
    expect(jwtRequirement(tenant({ idp, auth: { jwt: false } }), { path: '/v1', auth: { jwt: true } }).required).toBe(true);
  });

  it('falls back to the tenant setting when the route has none', () => {
    expect(jwtRequirement(tenant({ idp, auth: { jwt: false } }), route).required).toBe(false);
    expect(jwtRequirement(tenant({ idp, auth: { jwt: true } }), route).required).toBe(true);
    expect(jwtRequirement(tenant({ idp, auth: { jwt: false } }), { path: '/v1', auth: {} }).required).toBe(false);
  });

  it('requires a JWT when neither says and the tenant has an idp', () => {
    expect(jwtRequirement(tenant({ idp }), route).required).toBe(true);
    expect(jwtRequirement(tenant({ idp, auth: {} }), { path: '/v1', auth: {} }).required).toBe(true);
  });

  it('does not require a JWT when neither says and the tenant has no idp', () => {
    expect(jwtRequirement(tenant(), route).required).toBe(false);
    expect(jwtRequirement(tenant({ auth: {} }), { path: '/v1', auth: {} }).required).toBe(false);
  });
});

describe('jwtRequirement', () => {
  it('answers with shared frozen objects, so the data plane allocates nothing per request', () => {
    const t = tenant({ idp });
    expect(jwtRequirement(t, { path: '/a' })).toBe(jwtRequirement(t, { path: '/b' }));
    expect(Object.isFrozen(jwtRequirement(t, { path: '/a' }))).toBe(true);
  });

  const cases: [string, Tenant, AllowedRoute, boolean, string][] = [
    ['route false beats tenant true', tenant({ idp, auth: { jwt: true } }), { path: '/v1', auth: { jwt: false } }, false, 'route'],
    ['route true', tenant({ idp }), { path: '/v1', auth: { jwt: true } }, true, 'route'],
    ['tenant false beats idp', tenant({ idp, auth: { jwt: false } }), { path: '/v1', auth: {} }, false, 'tenant'],
    ['tenant true', tenant({ idp, auth: { jwt: true } }), { path: '/v1' }, true, 'tenant'],
    ['idp present', tenant({ idp }), { path: '/v1' }, true, 'idp'],
    ['nothing said, no idp', tenant(), { path: '/v1' }, false, 'default'],
  ];

  it.each(cases)('%s', (_name, t, route, required, source) => {
    expect(jwtRequirement(t, route)).toEqual({ required, source });
  });
});
