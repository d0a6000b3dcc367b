import { jwtRequired, jwtRequirement } from '../../../../../src/policy/steps/route/jwt-rule';
import type { AllowedRoute, Tenant } from '../../../../../src/tenants/tenant.model';

const idp = { issuer: 'https://auth.example.com', jwksUri: 'https://auth.example.com/jwks.json' };

function tenant(extra: Partial<Tenant> = {}): Tenant {
  return { id: 'acme', upstreamBaseUrl: 'https://upstream.example.com', allowedRoutes: [], ...extra };
}

describe('jwtRequired', () => {
  const route: AllowedRoute = { path: '/v1' };

  it('uses the route setting first', () => {
    expect(jwtRequired(tenant({ idp, auth: { jwt: true } }), { path: '/v1', auth: { jwt: false } })).toBe(false);
    expect(jwtRequired(tenant({ idp, auth: { jwt: false } }), { path: '/v1', auth: { jwt: true } })).toBe(true);
  });

  it('falls back to the tenant setting when the route has none', () => {
    expect(jwtRequired(tenant({ idp, auth: { jwt: false } }), route)).toBe(false);
    expect(jwtRequired(tenant({ idp, auth: { jwt: true } }), route)).toBe(true);
    expect(jwtRequired(tenant({ idp, auth: { jwt: false } }), { path: '/v1', auth: {} })).toBe(false);
  });

  it('requires a JWT when neither says and the tenant has an idp', () => {
    expect(jwtRequired(tenant({ idp }), route)).toBe(true);
    expect(jwtRequired(tenant({ idp, auth: {} }), { path: '/v1', auth: {} })).toBe(true);
  });

  it('does not require a JWT when neither says and the tenant has no idp', () => {
    expect(jwtRequired(tenant(), route)).toBe(false);
    expect(jwtRequired(tenant({ auth: {} }), { path: '/v1', auth: {} })).toBe(false);
  });
});

describe('jwtRequirement', () => {
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
    // The listing and the data plane must never disagree.
    expect(jwtRequired(t, route)).toBe(required);
  });
});
