import * as fc from 'fast-check';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { GatewayError } from '../../../src/errors/gateway-error';
import type { Decision } from '../../../src/policy/decision';
import { forwardsUnchanged } from '../../../src/policy/upstream-url';
import { PathStep } from '../../../src/policy/steps/path/path.step';
import { RouteStep } from '../../../src/policy/steps/route/route.step';
import type { Tenant } from '../../../src/tenants/tenant.model';
import { validateTenant } from '../../../src/tenants/tenant.schema';
import { isStricter, landingRoute, servletReader, UPSTREAM_READERS, type ReadRoute } from '../../support/upstream-readers';

/*
 * SPEC §18, property (a): whatever path a client sends, if the gateway forwards it, none of four
 * upstream readers (plain RFC 3986, servlet ";"-stripping, NFKC-then-RFC 3986, case-folding) lands
 * it on a route stricter than the one that authorized it. The gateway's own path and route steps
 * decide; the readers are written apart from them (test/support/upstream-readers.ts).
 */

/** Segments of route paths: several differ only by case, so the case rules are exercised. */
const SEGMENTS = ['foo', 'bar', 'Bar', 'BAR', 'baz', 'admin', 'fi', 'sk', 'a'];

/** What a request path is built from: route segments and everything an upstream might read another way. */
const TOKENS = [
  ...SEGMENTS, 'FOO', 'Admin', 'x',
  '/', '/', '/', '//', '.', '..', '%2e', '%2E%2E', '\\', '%5C', '%2F',
  ';', ';x', ';jsessionid=1.css', '%3B', '%3b', '%3Bx',
  '%EF%BD%82', '%EF%BC%A1', '%EF%AC%81', '%C5%BF', '%E2%84%AA', '%C4%B1', // ｂ Ａ ﬁ ſ K(Kelvin) ı
  '%EF%BC%8F', '%E2%88%95', '%EF%BC%8E', '%E2%80%A5', '%CD%BE', '%EF%BC%9F', '%EF%BC%85', '%EF%BC%BC', // look-alikes
  '%41', '%61', '%62', '%3A', ':', '%20', '%25', '%3F', '%23', '%C3%A9', '%CC%81',
];

const METHODS = ['GET', 'POST', 'DELETE'];

/** A path segment: mostly a route's segment, as written or in another case, often with something hostile after it. */
function segmentArb(): fc.Arbitrary<string> {
  const segment = fc.constantFrom(...SEGMENTS, 'FOO', 'Admin', 'x');
  const hostile = fc.array(fc.constantFrom(...TOKENS), { minLength: 1, maxLength: 3 }).map((t) => t.join(''));
  return fc.oneof(segment, fc.tuple(segment, hostile).map(([a, b]) => a + b), hostile, fc.constant(''));
}

const routeArb = fc.record({
  path: fc.array(fc.constantFrom(...SEGMENTS), { minLength: 0, maxLength: 3 }).map((s) => '/' + s.join('/')),
  jwt: fc.boolean(),
  methods: fc.option(fc.subarray(METHODS, { minLength: 1 }), { nil: undefined }),
});

const caseArb = fc.record({
  routes: fc.uniqueArray(routeArb, { minLength: 1, maxLength: 6, selector: (r) => r.path }),
  pathParameters: fc.boolean(),
  method: fc.constantFrom(...METHODS),
  path: fc.array(segmentArb(), { minLength: 1, maxLength: 5 }).map((segments) => '/' + segments.join('/')),
});

let jwk: JWK;
beforeAll(async () => {
  const { publicKey } = await generateKeyPair('ES256', { extractable: true });
  jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' };
});

function tenantOf(routes: readonly ReadRoute[], pathParameters: boolean): Tenant {
  const result = validateTenant(
    {
      id: 'reads',
      upstreamBaseUrl: 'http://upstream.test/base',
      idp: { issuer: 'https://idp.test', jwks: { keys: [jwk] } },
      pathParameters,
      allowedRoutes: routes.map((r) => ({ path: r.path, auth: { jwt: r.jwt }, ...(r.methods && { methods: r.methods }) })),
    },
    { jwksAllowHttp: false },
  );
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.tenant;
}

const pathStep = new PathStep();
const routeStep = new RouteStep();

/**
 * The path the upstream would receive after the base prefix, with the route that authorized it and
 * whether a JWT was required; null when the gateway refuses the request.
 */
function forwarded(tenant: Tenant, method: string, path: string): { path: string; route: string; jwt: boolean } | null {
  const decision: Decision = { method, target: '/api' + path, headers: {} };
  try {
    pathStep.run(decision);
    decision.tenant = tenant;
    routeStep.run(decision);
  } catch (err) {
    if (err instanceof GatewayError && [400, 403].includes(err.status)) return null;
    throw err;
  }
  if (!forwardsUnchanged('/base' + decision.path!)) return null;
  return { path: decision.path!, route: decision.route!.path, jwt: decision.jwt!.required };
}

describe('a forwarded path, read by any of four upstreams (SPEC §18)', () => {
  it('never lands on a route stricter than the one that authorized it', () => {
    let accepted = 0;
    let runs = 0;
    fc.assert(
      fc.property(caseArb, ({ routes, pathParameters, method, path }) => {
        runs++;
        const sent = forwarded(tenantOf(routes, pathParameters), method, path);
        if (sent === null) return;
        accepted++;
        // What the gateway held the request to: its route's methods, and a JWT when any rule asked for one.
        const authorized = { ...routes.find((r) => r.path === sent.route)!, jwt: sent.jwt };
        for (const reader of UPSTREAM_READERS) {
          const landed = landingRoute(reader, routes, sent.path);
          // With pathParameters the tenant says its upstream drops ";…": an upstream that does not
          // may find no route for what it reads (the opt-out's documented risk), never a stricter one.
          if (landed === null && pathParameters && reader !== servletReader) continue;
          const seen = { reader: reader.name, path, forwarded: sent.path, authorized: sent.route, landed: landed?.path };
          expect({ ...seen, stricter: isStricter(landed, authorized, method) }).toEqual({ ...seen, stricter: false });
        }
      }),
      { numRuns: 3000 },
    );
    // The property is not vacuous: a good share of the generated requests is forwarded.
    expect(accepted).toBeGreaterThan(runs / 10);
  });

  it.each([
    // The requests that showed the problem (route /foo open, /foo/bar JWT-only, /foo/baz GET-only).
    ['/foo/bar;', false, null],
    ['/foo/bar;/', false, null],
    ['/foo/bar;jsessionid=x.css', false, null],
    ['/foo/bar%3B', false, null],
    ['/foo/%ef%bc%8fbar', false, null],
    ['/foo/BAR', false, null],
    ['/foo/%EF%BD%82ar', false, null],
    ['/foo/other', false, '/foo'],
    ['/foo/bar;', true, '/foo/bar'],
    ['/foo/bar;jsessionid=x.css', true, '/foo/bar'],
    ['/foo/other;v=1', true, '/foo'],
  ])('%s (pathParameters %s) is refused, or authorized by %s and read by no upstream as a stricter route', (path, pathParameters, route) => {
    const routes: ReadRoute[] = [{ path: '/foo', jwt: false }, { path: '/foo/bar', jwt: true }, { path: '/foo/baz', jwt: false, methods: ['GET'] }];
    const sent = forwarded(tenantOf(routes, pathParameters), 'GET', path);
    expect(sent?.route ?? null).toBe(route);
    if (sent === null) return;
    // The servlet reading is the one the gateway matched with; the others read the same or a laxer route.
    expect(landingRoute(servletReader, routes, sent.path)?.path).toBe(route);
    const authorized = { ...routes.find((r) => r.path === route)!, jwt: sent.jwt };
    for (const reader of UPSTREAM_READERS) {
      const landed = landingRoute(reader, routes, sent.path);
      if (landed !== null || !pathParameters) expect([reader.name, isStricter(landed, authorized, 'GET')]).toEqual([reader.name, false]);
    }
  });
});
