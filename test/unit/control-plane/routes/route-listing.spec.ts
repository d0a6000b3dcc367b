import { listRoutes } from '../../../../src/control-plane/routes/route-listing';
import type { Tenant } from '../../../../src/tenants/tenant.model';

const idp = { issuer: 'https://auth.example.com', jwksUri: 'https://auth.example.com/jwks.json' };

describe('listRoutes', () => {
  it("lists every tenant's routes in order with methods (null = all) and the effective JWT rule", () => {
    const acme: Tenant = {
      id: 'acme',
      upstreamBaseUrl: 'https://acme.example.com',
      idp,
      auth: { jwt: false },
      allowedRoutes: [
        { path: '/v1/users', auth: { jwt: true }, methods: ['GET', 'POST'] },
        { path: '/v1/products' },
      ],
    };
    const beta: Tenant = { id: 'beta', upstreamBaseUrl: 'https://beta.example.com', disabled: true, allowedRoutes: [{ path: '/' }] };
    const invalid = { id: 'broken', errors: [{ path: 'upstreamBaseUrl', message: 'required' }] };

    expect(listRoutes({ tenants: [acme, beta], invalidTenants: [invalid] })).toEqual({
      routes: [
        { tenantId: 'acme', tenantDisabled: false, path: '/v1/users', methods: ['GET', 'POST'], jwtRequired: true, jwtSource: 'route' },
        { tenantId: 'acme', tenantDisabled: false, path: '/v1/products', methods: null, jwtRequired: false, jwtSource: 'tenant' },
        { tenantId: 'beta', tenantDisabled: true, path: '/', methods: null, jwtRequired: false, jwtSource: 'default' },
      ],
      invalidTenants: [invalid],
    });
  });

  it('answers empty lists when there are no tenants', () => {
    expect(listRoutes({ tenants: [], invalidTenants: [] })).toEqual({ routes: [], invalidTenants: [] });
  });
});
