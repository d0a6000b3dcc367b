import { GatewayError } from '../../../../../src/errors/gateway-error';
import { routePathOf } from '../../../../../src/policy/steps/route/path-parameters';

/** SPEC §18 path parameters, on paths already normalized (§5.1): `;` raw, or escaped as `%3B`. */
describe('routePathOf', () => {
  it.each(['/foo/bar', '/', '/foo/bar/', "/a!$&'()*+,=:@b", '/a%3Ab'])('leaves %j, which has no ";", as it is', (path) => {
    expect(routePathOf(path, false)).toBe(path);
    expect(routePathOf(path, true)).toBe(path);
  });

  it.each(['/foo/bar;', '/foo/bar;/', '/foo/bar;jsessionid=x.css', '/foo/bar%3B', '/foo/bar%3Bx/baz', '/;', '/foo;a=1/bar'])(
    'refuses %j with 400 bad_path when the tenant does not allow path parameters',
    (path) => {
      expect(() => routePathOf(path, false)).toThrow(GatewayError);
      expect(() => routePathOf(path, false)).toThrow(expect.objectContaining({ status: 400, code: 'bad_path' }));
    },
  );

  it.each([
    ['/foo/bar;', '/foo/bar'],
    ['/foo/bar;/', '/foo/bar/'],
    ['/foo/bar;jsessionid=x.css', '/foo/bar'],
    ['/foo;a=1/bar;b=2/baz', '/foo/bar/baz'],
    ['/foo/bar%3Bx', '/foo/bar'],
    ['/foo/bar%3Bx;y/baz', '/foo/bar/baz'],
    ['/foo/;x/bar', '/foo/bar'],
    ['/foo/;x', '/foo/'],
    ['/;x', '/'],
    ['/foo/bar;x/', '/foo/bar/'],
  ])('matches %j as %j when the tenant allows path parameters', (path, expected) => {
    expect(routePathOf(path, true)).toBe(expected);
  });

  it.each(['/public/..%3B/admin', '/public/.%3Bx/admin', '/public/..%3Bx'])(
    'refuses %j, a dot segment once its parameters are gone, even when path parameters are allowed',
    (path) => {
      expect(() => routePathOf(path, true)).toThrow(expect.objectContaining({ code: 'bad_path' }));
    },
  );
});
