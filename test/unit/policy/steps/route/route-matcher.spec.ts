import { GatewayError } from '../../../../../src/errors/gateway-error';
import { compileRoutes, otherRouteByReading, matchRoute, readingOf } from '../../../../../src/policy/steps/route/route-matcher';
import type { AllowedRoute } from '../../../../../src/tenants/tenant.model';

const users: AllowedRoute = { path: '/v1/users', methods: ['GET', 'POST'] };
const products: AllowedRoute = { path: '/v1/products/' };
const v1: AllowedRoute = { path: '/v1' };
const admin: AllowedRoute = { path: '/v2/admin', methods: ['GET'] };
const ROUTES = compileRoutes([v1, users, products, admin]);

const matched = (path: string, method = 'GET', routes = ROUTES) => matchRoute(routes, path, method).route;

describe('matchRoute', () => {
  it('matches a route equal to the path', () => {
    expect(matched('/v1/users')).toBe(users);
    expect(matched('/v2/admin')).toBe(admin);
  });

  it('matches a prefix only on a segment boundary', () => {
    expect(matched('/v1/users/42')).toBe(users);
    expect(matched('/v1/users/42/orders')).toBe(users);
    expect(matched('/v2/admin/settings')).toBe(admin);
    expect(matched('/v2/administrator')).toBeNull();
    expect(matched('/v2')).toBeNull();
  });

  it('never matches /v1/users2 with /v1/users', () => {
    const only = compileRoutes([users]);
    expect(matched('/v1/users2', 'GET', only)).toBeNull();
    expect(matched('/v1/users;x', 'GET', only)).toBeNull();
    expect(matched('/v1/users.json', 'GET', only)).toBeNull();
    expect(matched('/v1/users2')).toBe(v1);
  });

  it('ignores a trailing slash on the route and accepts one on the path', () => {
    expect(matched('/v1/products')).toBe(products);
    expect(matched('/v1/products/')).toBe(products);
    expect(matched('/v1/products/9')).toBe(products);
    expect(matched('/v1/users/')).toBe(users);
    expect(matched('/v1/productsX')).toBe(v1);
  });

  it('lets the root route match every path', () => {
    const root: AllowedRoute = { path: '/' };
    const routes = compileRoutes([root]);
    for (const path of ['/', '/a', '/v1/users/42', '/x/']) expect(matched(path, 'GET', routes)).toBe(root);
    expect(matched('/', 'GET', ROUTES)).toBeNull();
  });

  it('lets the longest matching route decide, whatever the listing order', () => {
    const deep: AllowedRoute = { path: '/v1/users/admin' };
    const routes = compileRoutes([{ path: '/' }, deep, users, v1]);
    expect(matched('/v1/users/admin/1', 'GET', routes)).toBe(deep);
    expect(matched('/v1/users/1', 'GET', routes)).toBe(users);
    expect(matched('/v1/other', 'GET', routes)).toBe(v1);
    expect(matched('/v2', 'GET', routes)?.path).toBe('/');
  });

  it('restricts methods when the route lists them', () => {
    expect(matchRoute(ROUTES, '/v1/users/1', 'GET')).toEqual({ route: users, methodAllowed: true });
    expect(matchRoute(ROUTES, '/v1/users/1', 'POST')).toEqual({ route: users, methodAllowed: true });
    expect(matchRoute(ROUTES, '/v1/users/1', 'DELETE')).toEqual({ route: users, methodAllowed: false });
    expect(matchRoute(ROUTES, '/v1/products', 'DELETE')).toEqual({ route: products, methodAllowed: true });
  });

  it('does not give a shorter route a second chance when the longest denies the method', () => {
    // `/v1` allows DELETE, but `/v1/users` is the most specific policy and does not.
    expect(matchRoute(ROUTES, '/v1/users/1', 'DELETE')).toEqual({ route: users, methodAllowed: false });
    expect(matchRoute(ROUTES, '/v1/other', 'DELETE')).toEqual({ route: v1, methodAllowed: true });
  });

  it('does not imply HEAD from GET', () => {
    expect(matchRoute(ROUTES, '/v2/admin', 'HEAD')).toEqual({ route: admin, methodAllowed: false });
  });

  it('compares methods upper-case', () => {
    expect(matchRoute(ROUTES, '/v1/users', 'get').methodAllowed).toBe(true);
    const lower = compileRoutes([{ path: '/x', methods: ['patch'] }]);
    expect(matchRoute(lower, '/x', 'PATCH').methodAllowed).toBe(true);
  });

  it('denies every method for an empty methods list', () => {
    expect(matchRoute(compileRoutes([{ path: '/x', methods: [] }]), '/x', 'GET').methodAllowed).toBe(false);
  });

  it('is case-sensitive', () => {
    expect(matched('/V1/users')).toBeNull();
    expect(matched('/v1/Users')).toBe(v1);
    expect(matched('/v2/Admin')).toBeNull();
  });

  it('reports no route and no method when nothing matches', () => {
    expect(matchRoute(ROUTES, '/v3', 'GET')).toEqual({ route: null, methodAllowed: false });
    expect(matchRoute(compileRoutes([]), '/v1', 'GET')).toEqual({ route: null, methodAllowed: false });
  });

  it('accepts uncompiled routes too', () => {
    expect(matchRoute([v1, users], '/v1/users/1', 'DELETE')).toEqual({ route: users, methodAllowed: false });
  });

  it('lets the first of two identical route paths decide', () => {
    const first: AllowedRoute = { path: '/x', methods: ['GET'] };
    const second: AllowedRoute = { path: '/x/', methods: ['POST'] };
    expect(matchRoute(compileRoutes([first, second]), '/x', 'POST')).toEqual({ route: first, methodAllowed: false });
  });

  it('compares route paths in the same canonical form as request paths', () => {
    const tilde: AllowedRoute = { path: '/v1/%7eme', methods: ['GET'] };
    const pipe: AllowedRoute = { path: '/v1/a|b', methods: ['GET'] };
    const routes = compileRoutes([v1, tilde, pipe]);
    expect(matched('/v1/~me', 'GET', routes)).toBe(tilde);
    expect(matched('/v1/a%7Cb', 'GET', routes)).toBe(pipe);
  });

  it('refuses to compile a route path that cannot be normalized', () => {
    for (const path of ['/v1/../..', '/v1/%2F', '/v1\\x', 'v1']) {
      expect(() => compileRoutes([{ path }])).toThrow(
        expect.objectContaining({ status: 500, code: 'tenant_misconfigured' }) as GatewayError,
      );
    }
  });
});

describe('matchRoute with escaped delimiters', () => {
  const strict: AllowedRoute = { path: '/v1/a:b@c', methods: ['GET'] };
  const lax: AllowedRoute = { path: '/v1' };
  const routes = compileRoutes([lax, strict]);

  it('applies a route naming a delimiter to the same path with that delimiter percent-encoded', () => {
    for (const path of ['/v1/a:b@c', '/v1/a%3Ab@c', '/v1/a:b%40c', '/v1/a%3Ab%40c/x']) {
      expect(matchRoute(routes, path, 'GET').route).toBe(strict);
      // The stricter route's method list still decides: no fallback to the laxer parent.
      expect(matchRoute(routes, path, 'DELETE')).toEqual({ route: strict, methodAllowed: false });
    }
  });

  it('decodes every sub-delimiter, ":" and "@" for matching, and nothing else', () => {
    const all = compileRoutes([{ path: "/x/!$&'()*+,;=:@" }]);
    expect(matchRoute(all, '/x/%21%24%26%27%28%29%2A%2B%2C%3B%3D%3A%40', 'GET').route?.path).toBe("/x/!$&'()*+,;=:@");
    // %25 ("%"), %3F ("?"), %23 ("#") stay encoded: they can never equal a route character.
    const plain = compileRoutes([{ path: '/y' }, { path: '/' }]);
    expect(matchRoute(plain, '/y%3F', 'GET').route?.path).toBe('/');
    expect(matchRoute(plain, '/y%23', 'GET').route?.path).toBe('/');
  });
});

describe('readingOf and otherRouteByReading (SPEC §18 case)', () => {
  it.each([
    ['/Foo/BAR', '/foo/bar'],
    ['/foo/%EF%BD%82ar', '/foo/bar'],
    ['/foo/%C5%BFecret', '/foo/secret'], // ſ (long s)
    ['/foo/%E2%84%AAey', '/foo/key'], // K (Kelvin sign)
    ['/foo/b%C4%B1n', '/foo/bin'], // ı (dotless i)
    ['/foo/a%3Ab', '/foo/a:b'],
  ])('reads %j as %j', (path, reading) => {
    expect(readingOf(path)).toBe(reading);
  });

  const open: AllowedRoute = { path: '/foo' };
  const strict: AllowedRoute = { path: '/foo/bar', methods: ['GET'] };
  const routes = compileRoutes([open, strict]);

  it('names the longer route a path reaches only when read differently', () => {
    expect(otherRouteByReading(routes, '/foo/BAR', open)).toBe(strict);
    expect(otherRouteByReading(routes, '/foo/Bar/x', open)).toBe(strict);
    expect(otherRouteByReading(routes, '/foo/other', open)).toBeNull();
    expect(otherRouteByReading(routes, '/foo/bar', strict)).toBeNull();
  });
});

describe('otherRouteByReading with routes that differ only by case', () => {
  const lower: AllowedRoute = { path: '/files/a' };
  const upper: AllowedRoute = { path: '/files/A', methods: ['GET'] };
  const routes = compileRoutes([lower, upper]);

  it('names the other: a case-insensitive upstream cannot tell them apart', () => {
    expect(otherRouteByReading(routes, '/files/a/1', lower)).toBe(upper);
    expect(otherRouteByReading(routes, '/files/A/1', upper)).toBe(lower);
  });

  it('names none for a path neither covers when read differently', () => {
    expect(otherRouteByReading(compileRoutes([lower, { path: '/files/b' }]), '/files/a', lower)).toBeNull();
  });
});
