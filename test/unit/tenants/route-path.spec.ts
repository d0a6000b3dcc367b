import { normalizePath } from '../../../src/policy/steps/path/path-normalizer';
import { validateTenant } from '../../../src/tenants/tenant.schema';

/** The route paths of a tenant the schema accepts, or null when it refuses the route. */
function acceptedPath(path: string): string | null {
  const result = validateTenant({ id: 't', upstreamBaseUrl: 'http://u', allowedRoutes: [{ path }] }, { jwksAllowHttp: false });
  return result.ok ? result.tenant.allowedRoutes[0].path : null;
}

/** Segments built from every printable ASCII character and every dot form, up to three deep, with and without a trailing "/". */
function candidatePaths(): string[] {
  const printable = Array.from({ length: 0x7f - 0x20 }, (_, i) => String.fromCharCode(0x20 + i));
  const pieces = ['a', '.', '..', '...', '.a', 'a.', '..a', '.;', '.;x', '..;', '..;x', 'a;.', ';', ';..', '.%2e', '%2e.', ...printable];
  const paths = new Set<string>(['/']);
  for (const a of pieces) {
    for (const b of ['', ...pieces.slice(0, 16)]) {
      for (const c of ['', '..;y', 'z']) {
        const path = '/' + [a, b, c].filter((s) => s !== '').join('/');
        paths.add(path);
        paths.add(`${path}/`);
      }
    }
  }
  return [...paths];
}

describe('route paths and the path normalizer', () => {
  const candidates = candidatePaths();

  it('never accepts a route path the normalizer would refuse', () => {
    const accepted = candidates.filter((path) => acceptedPath(path) !== null);
    expect(accepted.length).toBeGreaterThan(100);
    for (const path of accepted) expect(() => normalizePath(path)).not.toThrow();
  });

  it('accepts a good list of route paths, a trailing "/" ignored', () => {
    for (const path of ['/', '/v1', '/v1/users', '/v1/users/', '/a.b/c..d/...', "/a/b;c=d,e:f@g!$&'()*+", '/~x/_y-z', '/.well-known/jwks.json']) {
      expect(acceptedPath(path)).toBe(path === '/' ? '/' : path.replace(/\/$/, ''));
      expect(() => normalizePath(path)).not.toThrow();
    }
  });

  it.each(['/.;x', '/..;x', '/v1/.;/users', '/v1/..;jsessionid=1', '/v1/..;', '/.;'])(
    'refuses %j: a dot segment with ";" parameters, which the normalizer refuses',
    (path) => {
      expect(acceptedPath(path)).toBeNull();
      expect(() => normalizePath(path)).toThrow();
    },
  );
});
