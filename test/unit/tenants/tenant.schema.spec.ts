import type { Tenant } from '../../../src/tenants/tenant.model';
import { specExampleTenant } from '../../support/fixtures';
import { DEFAULT_ALGORITHMS, KNOWN_ALGORITHMS } from '../../../src/tenants/jwk-rules';
import { validateTenant } from '../../../src/tenants/tenant.schema';

const STRICT = { jwksAllowHttp: false };

/** The SPEC §3 example, verbatim. */
const exampleTenant = () => specExampleTenant();

/** The smallest valid tenant, to which a test adds the one field it is about. */
function minimal(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { id: 't1', upstreamBaseUrl: 'http://upstream:8080', allowedRoutes: [{ path: '/' }], ...extra };
}

function withIdp(idp: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return minimal({ idp: { issuer: 'https://issuer.example', ...idp }, ...extra });
}

function valid(input: unknown, opts = STRICT): Tenant {
  const result = validateTenant(input, opts);
  if (!result.ok) throw new Error(`expected a valid tenant, got ${JSON.stringify(result.errors)}`);
  return result.tenant;
}

function errorsOf(input: unknown, opts = STRICT): { path: string; message: string }[] {
  const result = validateTenant(input, opts);
  if (result.ok) throw new Error(`expected validation errors for ${JSON.stringify(input)}`);
  return result.errors;
}

function pathsOf(input: unknown, opts = STRICT): string[] {
  return errorsOf(input, opts).map((e) => e.path);
}

function messageAt(input: unknown, path: string, opts = STRICT): string {
  const found = errorsOf(input, opts).find((e) => e.path === path);
  if (!found) throw new Error(`no error at ${path}: ${JSON.stringify(errorsOf(input, opts))}`);
  return found.message;
}

/** A real 2048-bit RSA public key: smaller ones are refused. */
const RSA_KEY = {
  kty: 'RSA',
  kid: 'r1',
  use: 'sig',
  alg: 'RS256',
  n: 'vQauDwzGqWkc_bmGt-qGJwwmV95aK4c5qLCtMSvd2JLU0bFy836mhvrmO58GUnOQd-fe3LjyKWZQgj4vMFd-G4nUC_B5l6vR4Pt6F7vECEGVOHtphQOG7zHvJBzo-YDsdVaY_WlLzdDw7zvb8RIHk35ALMk1tuadMEfj-nMqLNLXqY0tlI4PBhiHMud27Ry4PLbpLTktVHDgGscSoDd3PeRFrCO6HXyW1Ls7OgWy1yN3HJ8yazcEelUPD742CENhvfknsugxhTpW68GYeMMZqpOmjnbMsy1uc8tz-peWLxv0y5WD2vIWD27ZMxOexDmbjyu4mUdtWQka2ayTo4Q0XQ',
  e: 'AQAB',
};
/** A 264-bit modulus: well-formed, far too small. */
const SMALL_RSA_N = 'sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri';
const EC_KEY = { kty: 'EC', crv: 'P-256', x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU', y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0' };
const OKP_KEY = { kty: 'OKP', crv: 'Ed25519', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo' };

describe('validateTenant', () => {
  describe('valid tenants', () => {
    it('accepts the SPEC §3 example and returns an equal but new object', () => {
      const input = exampleTenant();
      const tenant = valid(input);
      expect(tenant).toEqual(exampleTenant());
      expect(tenant).not.toBe(input);
      expect(tenant.allowedRoutes).not.toBe(input.allowedRoutes);
      expect(tenant.allowedRoutes[0]).not.toBe(input.allowedRoutes[0]);
      expect(tenant.idp).not.toBe(input.idp);
      expect(tenant.idp?.algorithms).not.toBe(input.idp.algorithms);
    });

    it('does not modify its input', () => {
      const input = exampleTenant();
      input.allowedRoutes[0].methods = ['get'];
      input.upstreamBaseUrl = 'https://api.acme.internal/base/';
      const snapshot = JSON.parse(JSON.stringify(input));
      valid(input);
      expect(input).toEqual(snapshot);
    });

    it('accepts a minimal tenant and adds no optional fields', () => {
      expect(valid(minimal())).toEqual({ id: 't1', upstreamBaseUrl: 'http://upstream:8080', allowedRoutes: [{ path: '/' }] });
    });

    it('accepts an empty route list (nothing is allowed)', () => {
      expect(valid(minimal({ allowedRoutes: [] })).allowedRoutes).toEqual([]);
    });

    it('accepts maxBodyBytes 0, disabled true and a 200-character name', () => {
      const tenant = valid(minimal({ maxBodyBytes: 0, disabled: true, name: 'n'.repeat(200) }));
      expect(tenant).toMatchObject({ maxBodyBytes: 0, disabled: true, name: 'n'.repeat(200) });
    });

    it('accepts ids of 1 and 64 characters with "_" and "-"', () => {
      expect(valid(minimal({ id: 'a' })).id).toBe('a');
      const long = '9' + 'a_-'.repeat(21);
      expect(long).toHaveLength(64);
      expect(valid(minimal({ id: long })).id).toBe(long);
    });

    it('keeps only known fields', () => {
      const tenant = valid(exampleTenant()) as unknown as Record<string, unknown>;
      expect(Object.keys(tenant).sort()).toEqual(
        ['allowedRoutes', 'auth', 'disabled', 'id', 'idp', 'name', 'rateLimit', 'upstreamBaseUrl'].sort(),
      );
    });
  });

  describe('normalised output', () => {
    it('upper-cases methods', () => {
      const tenant = valid(minimal({ allowedRoutes: [{ path: '/v1', methods: ['get', 'Post', 'delete'] }] }));
      expect(tenant.allowedRoutes[0].methods).toEqual(['GET', 'POST', 'DELETE']);
    });

    it('strips the trailing "/" of the upstreamBaseUrl path and canonicalises the origin', () => {
      expect(valid(minimal({ upstreamBaseUrl: 'https://API.acme.internal:443/base/' })).upstreamBaseUrl).toBe(
        'https://api.acme.internal/base',
      );
      expect(valid(minimal({ upstreamBaseUrl: 'http://upstream:8080/' })).upstreamBaseUrl).toBe('http://upstream:8080');
      expect(valid(minimal({ upstreamBaseUrl: 'http://10.0.0.5:9000/a/b' })).upstreamBaseUrl).toBe('http://10.0.0.5:9000/a/b');
    });

    it('strips a trailing "/" from route paths but keeps the root route', () => {
      const tenant = valid(minimal({ allowedRoutes: [{ path: '/v1/users/' }, { path: '/' }] }));
      expect(tenant.allowedRoutes.map((r) => r.path)).toEqual(['/v1/users', '/']);
    });
  });

  describe('root', () => {
    it.each([[null], [[]], ['acme'], [42]])('refuses %j as the whole tenant', (input) => {
      expect(errorsOf(input)).toEqual([{ path: '', message: 'must be a JSON object' }]);
    });

    it('reports missing required fields', () => {
      expect(pathsOf({})).toEqual(['id', 'upstreamBaseUrl', 'allowedRoutes']);
    });

    it('reports unknown root fields, suggesting the field a typo meant', () => {
      const input = minimal({ alowedRoutes: [], extra: 1 });
      expect(errorsOf(input)).toEqual([
        { path: 'alowedRoutes', message: 'unknown field (did you mean "allowedRoutes"?)' },
        { path: 'extra', message: 'unknown field' },
      ]);
    });

    it('treats a JSON "__proto__" member as an unknown field', () => {
      const input = JSON.parse('{"id":"t1","upstreamBaseUrl":"http://u","allowedRoutes":[],"__proto__":{"disabled":true}}');
      expect(pathsOf(input)).toEqual(['__proto__']);
    });
  });

  describe('id and name', () => {
    it.each([
      ['an empty id', ''],
      ['a 65-character id', 'a'.repeat(65)],
      ['a leading "-"', '-acme'],
      ['a leading "_"', '_acme'],
      ['a dot', 'ac.me'],
      ['a space', 'ac me'],
      ['a non-ASCII letter', 'acmé'],
    ])('refuses %s', (_label, id) => {
      expect(pathsOf(minimal({ id }))).toEqual(['id']);
    });

    it('refuses a non-string id', () => {
      expect(errorsOf(minimal({ id: 7 }))).toEqual([{ path: 'id', message: 'must be a string' }]);
    });

    it('refuses a name that is not a string or is longer than 200 characters', () => {
      expect(pathsOf(minimal({ name: 5 }))).toEqual(['name']);
      expect(messageAt(minimal({ name: 'n'.repeat(201) }), 'name')).toMatch(/200/);
    });
  });

  describe('upstreamBaseUrl', () => {
    it.each([
      ['not a string', 42, /string/],
      ['a relative URL', '/base', /absolute/],
      ['another scheme', 'ftp://files.example/x', /absolute http/],
      ['a scheme without "//"', 'http:upstream', /absolute/],
      ['a query', 'https://u.example/base?x=1', /query/],
      ['an empty query', 'https://u.example/base?', /query/],
      ['a fragment', 'https://u.example/base#top', /fragment/],
      ['credentials', 'https://user:secret@u.example/base', /credentials/],
      ['a username only', 'https://user@u.example/base', /credentials/],
      ['whitespace', ' https://u.example', /whitespace/],
    ])('refuses %s', (_label, upstreamBaseUrl, message) => {
      const errors = errorsOf(minimal({ upstreamBaseUrl }));
      expect(errors.map((e) => e.path)).toEqual(['upstreamBaseUrl']);
      expect(errors[0].message).toMatch(message);
    });
  });

  describe('allowedRoutes', () => {
    it('refuses a missing or non-array list, and non-object entries', () => {
      expect(pathsOf({ id: 't1', upstreamBaseUrl: 'http://u' })).toEqual(['allowedRoutes']);
      expect(pathsOf(minimal({ allowedRoutes: { path: '/' } }))).toEqual(['allowedRoutes']);
      expect(pathsOf(minimal({ allowedRoutes: [{ path: '/a' }, '/b'] }))).toEqual(['allowedRoutes[1]']);
    });

    it('requires a path on each route', () => {
      expect(errorsOf(minimal({ allowedRoutes: [{ methods: ['GET'] }] }))).toEqual([
        { path: 'allowedRoutes[0].path', message: 'is required' },
      ]);
    });

    it.each([
      ['not starting with "/"', 'v1/users', /start with "\/"/],
      ['empty', '', /start with "\/"/],
      ['with a query', '/v1/users?x=1', /query/],
      ['with a fragment', '/v1/users#x', /fragment/],
      ['with "%"', '/v1/%7Eusers', /"%"/],
      ['with a backslash', '/v1\\users', /"\\"/],
      ['with a control character', '/v1/us\u0000ers', /control/],
      ['with a tab', '/v1/\tusers', /control/],
      ['with non-ASCII characters', '/v1/café', /ASCII/],
      ['with "//"', '/v1//users', /"\/\/"/],
      ['with a "." segment', '/v1/./users', /"\." or "\.\." segments/],
      ['with a ".." segment', '/v1/users/..', /"\." or "\.\." segments/],
      ['with a dot segment carrying parameters', '/v1/..;x/users', /never match/],
    ])('refuses a path %s', (_label, path, message) => {
      const errors = errorsOf(minimal({ allowedRoutes: [{ path: '/ok' }, { path }] }));
      expect(errors.length).toBeGreaterThan(0);
      for (const e of errors) expect(e.path).toBe('allowedRoutes[1].path');
      expect(errors.map((e) => e.message).join('\n')).toMatch(message);
    });

    it('reports every problem of one path', () => {
      expect(errorsOf(minimal({ allowedRoutes: [{ path: 'a//b?c' }] })).map((e) => e.message)).toHaveLength(3);
    });

    it('accepts "." inside a segment and sub-delimiters', () => {
      expect(valid(minimal({ allowedRoutes: [{ path: '/v1/file.json' }, { path: "/a/b;c=d,e:f@g!$&'()*+" }] })).allowedRoutes).toHaveLength(2);
    });

    it('refuses a non-string path', () => {
      expect(errorsOf(minimal({ allowedRoutes: [{ path: ['/'] }] }))).toEqual([
        { path: 'allowedRoutes[0].path', message: 'must be a string' },
      ]);
    });

    it('refuses duplicate paths, ignoring a trailing "/"', () => {
      const errors = errorsOf(minimal({ allowedRoutes: [{ path: '/v1' }, { path: '/v2' }, { path: '/v1/', methods: ['GET'] }] }));
      expect(errors).toEqual([{ path: 'allowedRoutes[2].path', message: expect.stringContaining('allowedRoutes[0].path') }]);
    });

    it('reports unknown route fields', () => {
      expect(pathsOf(minimal({ allowedRoutes: [{ path: '/', method: ['GET'] }] }))).toEqual(['allowedRoutes[0].method']);
    });

    it('checks the route auth object', () => {
      expect(pathsOf(minimal({ allowedRoutes: [{ path: '/', auth: true }] }))).toEqual(['allowedRoutes[0].auth']);
      expect(pathsOf(minimal({ allowedRoutes: [{ path: '/', auth: { jwt: 'yes' } }] }))).toEqual(['allowedRoutes[0].auth.jwt']);
      expect(pathsOf(minimal({ allowedRoutes: [{ path: '/', auth: { jwt: false, apiKey: false } }] }))).toEqual([
        'allowedRoutes[0].auth.apiKey',
      ]);
    });

    it.each([
      ['an empty list', [], 'allowedRoutes[0].methods'],
      ['a string', 'GET', 'allowedRoutes[0].methods'],
      ['an unknown method', ['GET', 'TRACE'], 'allowedRoutes[0].methods[1]'],
      ['a non-string method', [1], 'allowedRoutes[0].methods[0]'],
      ['a duplicate after upper-casing', ['get', 'POST', 'GET'], 'allowedRoutes[0].methods[2]'],
    ])('refuses methods as %s', (_label, methods, path) => {
      expect(pathsOf(minimal({ allowedRoutes: [{ path: '/', methods }] }))).toEqual([path]);
    });

    it('accepts every listed method', () => {
      const methods = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
      expect(valid(minimal({ allowedRoutes: [{ path: '/', methods }] })).allowedRoutes[0].methods).toEqual(methods);
    });
  });

  describe('auth, rateLimit, maxBodyBytes, disabled', () => {
    it('checks the tenant auth object', () => {
      expect(pathsOf(minimal({ auth: 'jwt' }))).toEqual(['auth']);
      expect(pathsOf(minimal({ auth: { jwt: 1 } }))).toEqual(['auth.jwt']);
      expect(errorsOf(minimal({ auth: { JWT: true } }))).toEqual([
        { path: 'auth.JWT', message: 'unknown field (did you mean "jwt"?)' },
      ]);
    });

    it.each([
      [{ windowSeconds: 0, maxRequests: 10 }, ['rateLimit.windowSeconds']],
      [{ windowSeconds: 60, maxRequests: -1 }, ['rateLimit.maxRequests']],
      [{ windowSeconds: 1.5, maxRequests: 10 }, ['rateLimit.windowSeconds']],
      [{ windowSeconds: '60', maxRequests: 10 }, ['rateLimit.windowSeconds']],
      [{ windowSeconds: 86_400 * 365 + 1, maxRequests: 10 }, ['rateLimit.windowSeconds']],
      [{ windowSeconds: 60, maxRequests: 1e9 + 1 }, ['rateLimit.maxRequests']],
      [{ windowSeconds: 60 }, ['rateLimit.maxRequests']],
      [{ windowSeconds: 60, maxRequests: 10, burst: 5 }, ['rateLimit.burst']],
      [[60, 10], ['rateLimit']],
    ])('refuses rateLimit %j', (rateLimit, paths) => {
      expect(pathsOf(minimal({ rateLimit }))).toEqual(paths);
    });

    it('accepts rateLimit at its caps', () => {
      const rateLimit = { windowSeconds: 86_400 * 365, maxRequests: 1e9 };
      expect(valid(minimal({ rateLimit })).rateLimit).toEqual(rateLimit);
    });

    it.each([[-1], [1.5], ['1024'], [null]])('refuses maxBodyBytes %j', (maxBodyBytes) => {
      expect(pathsOf(minimal({ maxBodyBytes }))).toEqual(['maxBodyBytes']);
    });

    it('refuses a non-boolean disabled', () => {
      expect(pathsOf(minimal({ disabled: 'true' }))).toEqual(['disabled']);
    });

    it('accepts pathParameters true or false (SPEC §18), absent by default, and refuses anything else', () => {
      expect(valid(minimal({ pathParameters: true })).pathParameters).toBe(true);
      expect(valid(minimal({ pathParameters: false })).pathParameters).toBe(false);
      expect(valid(minimal()).pathParameters).toBeUndefined();
      expect(pathsOf(minimal({ pathParameters: 'true' }))).toEqual(['pathParameters']);
      expect(pathsOf(minimal({ pathParameter: true }))).toEqual(['pathParameter']);
    });
  });

  describe('idp', () => {
    it('refuses a non-object idp', () => {
      expect(pathsOf(minimal({ idp: 'https://issuer.example' }))).toEqual(['idp']);
    });

    it('requires a non-empty issuer', () => {
      expect(pathsOf(minimal({ idp: { jwksUri: 'https://i.example/jwks' } }))).toEqual(['idp.issuer']);
      expect(pathsOf(withIdp({ issuer: '', jwksUri: 'https://i.example/jwks' }))).toEqual(['idp.issuer']);
      expect(pathsOf(withIdp({ issuer: 3, jwksUri: 'https://i.example/jwks' }))).toEqual(['idp.issuer']);
    });

    it('accepts any StringOrURI issuer, but a value with ":" must be a URI', () => {
      expect(valid(withIdp({ issuer: 'acme-idp', jwksUri: 'https://i.example/jwks' })).idp?.issuer).toBe('acme-idp');
      expect(valid(withIdp({ issuer: 'urn:acme:idp', jwksUri: 'https://i.example/jwks' })).idp?.issuer).toBe('urn:acme:idp');
      expect(messageAt(withIdp({ issuer: ':acme', jwksUri: 'https://i.example/jwks' }), 'idp.issuer')).toMatch(/URI/);
    });

    it('requires exactly one of jwksUri and jwks', () => {
      expect(errorsOf(withIdp({}))).toEqual([{ path: 'idp', message: 'must have one of jwksUri or jwks' }]);
      expect(errorsOf(withIdp({ jwksUri: 'https://i.example/jwks', jwks: { keys: [RSA_KEY] } }))).toEqual([
        { path: 'idp', message: 'must have only one of jwksUri or jwks, not both' },
      ]);
    });

    it('reports unknown idp fields', () => {
      expect(errorsOf(withIdp({ jwksUri: 'https://i.example/jwks', audiences: ['a'] }))).toEqual([
        { path: 'idp.audiences', message: 'unknown field (did you mean "audience"?)' },
      ]);
    });

    describe('jwksUri', () => {
      it.each([
        ['http://127.0.0.1:8080/jwks'],
        ['http://127.12.0.1/jwks'],
        ['http://localhost:9000/.well-known/jwks.json'],
        ['http://LOCALHOST/jwks'],
        ['http://[::1]:8080/jwks'],
      ])('accepts loopback http: %s', (jwksUri) => {
        expect(valid(withIdp({ jwksUri })).idp?.jwksUri).toBe(new URL(jwksUri).href);
      });

      it.each([['http://auth.acme.com/jwks'], ['http://10.0.0.1/jwks'], ['http://localhost.evil.example/jwks'], ['http://128.0.0.1/jwks']])(
        'refuses non-loopback http: %s unless JWKS_ALLOW_HTTP',
        (jwksUri) => {
          expect(messageAt(withIdp({ jwksUri }), 'idp.jwksUri')).toMatch(/https/);
          expect(valid(withIdp({ jwksUri }), { jwksAllowHttp: true }).idp?.jwksUri).toBe(jwksUri);
        },
      );

      it.each([
        ['another scheme', 'ftp://i.example/jwks'],
        ['a relative URI', '/jwks'],
        ['credentials', 'https://u:p@i.example/jwks'],
        ['a fragment', 'https://i.example/jwks#k'],
        ['a non-string', 5],
      ])('refuses %s', (_label, jwksUri) => {
        expect(pathsOf(withIdp({ jwksUri }), { jwksAllowHttp: true })).toEqual(['idp.jwksUri']);
      });

      it('keeps a query string', () => {
        expect(valid(withIdp({ jwksUri: 'https://i.example/keys?realm=acme' })).idp?.jwksUri).toBe(
          'https://i.example/keys?realm=acme',
        );
      });
    });

    describe('inline jwks', () => {
      it('accepts public RSA, EC and OKP keys and copies them', () => {
        const input = withIdp({ jwks: { keys: [RSA_KEY, EC_KEY, OKP_KEY] } });
        const tenant = valid(input);
        expect(tenant.idp?.jwks).toEqual({ keys: [RSA_KEY, EC_KEY, OKP_KEY] });
        expect(tenant.idp?.jwks?.keys[0]).not.toBe(RSA_KEY);
      });

      it.each([['d'], ['p'], ['q'], ['dp'], ['dq'], ['qi']])('refuses the private member %s', (member) => {
        const key = { ...RSA_KEY, [member]: 'c2VjcmV0' };
        expect(errorsOf(withIdp({ jwks: { keys: [key] } }))).toEqual([
          { path: `idp.jwks.keys[0].${member}`, message: expect.stringMatching(/private/) },
        ]);
      });

      it('refuses a private EC key at its "d" member', () => {
        expect(pathsOf(withIdp({ jwks: { keys: [RSA_KEY, { ...EC_KEY, d: 'secret' }] } }))).toEqual(['idp.jwks.keys[1].d']);
      });

      it('refuses a symmetric oct key, naming its secret too', () => {
        const errors = errorsOf(withIdp({ jwks: { keys: [{ kty: 'oct', k: 'c2VjcmV0' }] } }));
        expect(errors.map((e) => e.path)).toEqual(['idp.jwks.keys[0].kty', 'idp.jwks.keys[0].k']);
        expect(errors[0].message).toMatch(/symmetric/);
      });

      it.each([
        ['a missing jwks.keys', {}, ['idp.jwks.keys']],
        ['an empty key list', { keys: [] }, ['idp.jwks.keys']],
        ['an unknown jwks field', { keys: [RSA_KEY], extra: 1 }, ['idp.jwks.extra']],
        ['a non-object key', { keys: ['abc'] }, ['idp.jwks.keys[0]']],
        ['a missing kty', { keys: [{ n: 'x', e: 'AQAB' }] }, ['idp.jwks.keys[0].kty']],
        ['an unknown kty', { keys: [{ kty: 'DSA', y: 'x' }] }, ['idp.jwks.keys[0].kty']],
        ['a missing RSA modulus', { keys: [{ kty: 'RSA', e: 'AQAB' }] }, ['idp.jwks.keys[0].n']],
        ['an unsupported curve', { keys: [{ ...EC_KEY, crv: 'secp256k1' }] }, ['idp.jwks.keys[0].crv']],
        ['an ECDH curve on OKP', { keys: [{ ...OKP_KEY, crv: 'X25519' }] }, ['idp.jwks.keys[0].crv']],
        ['a member of another key type', { keys: [{ ...RSA_KEY, crv: 'P-256' }] }, ['idp.jwks.keys[0].crv']],
        ['an encryption key', { keys: [{ ...RSA_KEY, use: 'enc' }] }, ['idp.jwks.keys[0].use']],
        ['an HMAC key alg', { keys: [{ ...RSA_KEY, alg: 'HS256' }] }, ['idp.jwks.keys[0].alg']],
        ['a non-string member', { keys: [{ ...RSA_KEY, kid: 7 }] }, ['idp.jwks.keys[0].kid']],
        ['a non-array x5c', { keys: [{ ...RSA_KEY, x5c: 'MIIB' }] }, ['idp.jwks.keys[0].x5c']],
        ['an RSA key under 2048 bits', { keys: [{ ...RSA_KEY, n: SMALL_RSA_N }] }, ['idp.jwks.keys[0]']],
        ['an EC point not on its curve', { keys: [{ ...EC_KEY, x: EC_KEY.y }] }, ['idp.jwks.keys[0]']],
        ['an alg of another key type', { keys: [{ ...RSA_KEY, alg: 'ES256' }] }, ['idp.jwks.keys[0].alg']],
        ['an alg of another curve', { keys: [{ ...EC_KEY, alg: 'ES384' }] }, ['idp.jwks.keys[0].alg']],
      ])('refuses %s', (_label, jwks, paths) => {
        expect(pathsOf(withIdp({ jwks }))).toEqual(paths);
      });
    });

    describe('audience', () => {
      it('accepts a string or a non-empty array of strings', () => {
        expect(valid(withIdp({ jwksUri: 'https://i.example/jwks', audience: 'api' })).idp?.audience).toBe('api');
        expect(valid(withIdp({ jwksUri: 'https://i.example/jwks', audience: ['a', 'b'] })).idp?.audience).toEqual(['a', 'b']);
      });

      it.each([
        ['', 'idp.audience'],
        [[], 'idp.audience'],
        [7, 'idp.audience'],
        [['a', ''], 'idp.audience[1]'],
        [['a', 2], 'idp.audience[1]'],
      ])('refuses %j', (audience, path) => {
        expect(pathsOf(withIdp({ jwksUri: 'https://i.example/jwks', audience }))).toEqual([path]);
      });
    });

    describe('algorithms', () => {
      const idpWith = (algorithms: unknown) => withIdp({ jwksUri: 'https://i.example/jwks', algorithms });

      it('refuses "none" with its own message', () => {
        expect(errorsOf(idpWith(['RS256', 'none']))).toEqual([
          { path: 'idp.algorithms[1]', message: '"none" is refused: tokens must be signed' },
        ]);
      });

      it.each([['HS256'], ['HS384'], ['HS512']])('refuses %s as a symmetric algorithm', (alg) => {
        const errors = errorsOf(idpWith([alg]));
        expect(errors.map((e) => e.path)).toEqual(['idp.algorithms[0]']);
        expect(errors[0].message).toMatch(new RegExp(`^${alg} is refused: HMAC`));
      });

      it.each([
        [[], 'idp.algorithms'],
        ['RS256', 'idp.algorithms'],
        [['RS1'], 'idp.algorithms[0]'],
        [['rs256'], 'idp.algorithms[0]'],
        [['ES256', 'ES256'], 'idp.algorithms[1]'],
        [[256], 'idp.algorithms[0]'],
      ])('refuses %j', (algorithms, path) => {
        expect(pathsOf(idpWith(algorithms))).toEqual([path]);
      });

      it('accepts every known algorithm', () => {
        expect(valid(idpWith([...KNOWN_ALGORITHMS])).idp?.algorithms).toEqual([...KNOWN_ALGORITHMS]);
      });
    });
  });

  describe('JWT requirement without an idp', () => {
    it('refuses a route that requires a JWT', () => {
      const input = minimal({ allowedRoutes: [{ path: '/open' }, { path: '/secure', auth: { jwt: true } }] });
      expect(errorsOf(input)).toEqual([{ path: 'allowedRoutes[1].auth.jwt', message: expect.stringMatching(/no idp/) }]);
    });

    it('refuses a tenant-level requirement that a route inherits, once', () => {
      const input = minimal({ auth: { jwt: true }, allowedRoutes: [{ path: '/a' }, { path: '/b' }] });
      expect(pathsOf(input)).toEqual(['auth.jwt']);
    });

    it('accepts a tenant-level requirement that every route overrides', () => {
      const input = minimal({ auth: { jwt: true }, allowedRoutes: [{ path: '/a', auth: { jwt: false } }] });
      expect(valid(input).auth).toEqual({ jwt: true });
    });

    it('accepts routes without JWT settings (the default is no JWT without an idp)', () => {
      expect(valid(minimal({ auth: {}, allowedRoutes: [{ path: '/a', auth: {} }] })).allowedRoutes).toEqual([
        { path: '/a', auth: {} },
      ]);
    });

    it('accepts a route requiring a JWT when the tenant has an idp', () => {
      const input = withIdp({ jwksUri: 'https://i.example/jwks' }, { allowedRoutes: [{ path: '/s', auth: { jwt: true } }] });
      expect(valid(input).allowedRoutes[0].auth).toEqual({ jwt: true });
    });
  });

  it('reports every problem of a badly broken tenant', () => {
    const input = {
      id: '-bad id',
      name: 12,
      upstreamBaseUrl: 'ftp://x',
      allowedRoutes: [
        { path: 'v1', methods: ['FETCH'] },
        { path: '/v2', auth: { jwt: true }, extra: true },
        { path: '/v2/' },
      ],
      auth: { jwt: 'no' },
      rateLimit: { windowSeconds: 0, maxRequests: 10, per: 'ip' },
      maxBodyBytes: -5,
      disabled: 'no',
      upstream: 'http://typo',
    };
    expect(pathsOf(input)).toEqual([
      'id',
      'name',
      'upstreamBaseUrl',
      'allowedRoutes[0].path',
      'allowedRoutes[0].methods[0]',
      'allowedRoutes[1].extra',
      'allowedRoutes[2].path',
      'auth.jwt',
      'rateLimit.windowSeconds',
      'rateLimit.per',
      'maxBodyBytes',
      'disabled',
      'upstream',
      'allowedRoutes[1].auth.jwt',
    ]);
  });

  it('exports the asymmetric algorithms as the default allowlist', () => {
    expect([...DEFAULT_ALGORITHMS].sort()).toEqual(
      ['EdDSA', 'ES256', 'ES384', 'ES512', 'PS256', 'PS384', 'PS512', 'RS256', 'RS384', 'RS512'].sort(),
    );
    expect(KNOWN_ALGORITHMS.some((a) => a === 'none' || a.startsWith('HS'))).toBe(false);
    expect(Object.isFrozen(KNOWN_ALGORITHMS)).toBe(true);
  });
});
