import { GatewayError } from '../../../../../src/errors/gateway-error';
import { normalizePath } from '../../../../../src/policy/steps/path/path-normalizer';
import { compileRoutes, matchRoute } from '../../../../../src/policy/steps/route/route-matcher';

const REJECT = Symbol('400 bad_path');
type Expected = string | typeof REJECT;

/** Path-bypass attempts and canonicalization cases: input → normalized path, or REJECT. */
const CORPUS: ReadonlyArray<readonly [string, Expected]> = [
  // already canonical (fast path)
  ['/v1/users/42', '/v1/users/42'],
  ['', '/'],
  ['/', '/'],
  ['/v1/users/', '/v1/users/'],
  ["/v1/a!$&'()*+,;=:@b", "/v1/a!$&'()*+,;=:@b"],
  ['/v1/users/42.json', '/v1/users/42.json'],
  // dot segments
  ['/v1/./users', '/v1/users'],
  ['/v1/users/.', '/v1/users/'],
  ['/v1/users/./', '/v1/users/'],
  ['/v1/users/..', '/v1/'],
  ['/v1/users/../admin', '/v1/admin'],
  ['/public/../admin', '/admin'],
  ['/public/./../admin/', '/admin/'],
  ['/a/b/../..', '/'],
  ['/..', REJECT],
  ['/../admin', REJECT],
  ['/public/../../admin', REJECT],
  ['/./../admin', REJECT],
  ['/a/b/../../..', REJECT],
  ['/...', '/...'],
  ['/..a/b', '/..a/b'],
  ['/a/..b', '/a/..b'],
  ['/a/b..', '/a/b..'],
  ['/.well-known/jwks.json', '/.well-known/jwks.json'],
  // encoded dots
  ['/v1/%2e/users', '/v1/users'],
  ['/public/%2e%2e/admin', '/admin'],
  ['/public/%2E%2e/admin', '/admin'],
  ['/public/%2E%2E/admin', '/admin'],
  ['/public/%2e./admin', '/admin'],
  ['/public/.%2E/admin', '/admin'],
  ['/public/%2e/%2e%2e/%2e%2e', REJECT],
  ['/public/x/%2e%2e/%2e%2e', '/'],
  ['/%2e%2e', REJECT],
  ['/%2e%2e/%2e%2e/etc/passwd', REJECT],
  ['/public/%2e%2e%2fadmin', REJECT],
  ['/v1/%2eenv', '/v1/.env'],
  // double encoding: `%25` + two hex digits is rejected, a lone `%25` stays literal
  ['/public/%252e%252e/admin', REJECT],
  ['/%252e', REJECT],
  ['/public/%252f', REJECT],
  ['/public/%255c', REJECT],
  ['/public/%25252e', REJECT],
  ['/a%25%34%31', REJECT],
  ['/discount/100%25', '/discount/100%25'],
  ['/a%25zz', '/a%25zz'],
  // encoded slash
  ['/public%2fadmin', REJECT],
  ['/public%2Fadmin', REJECT],
  ['/v1/users%2F..%2Fadmin', REJECT],
  ['/%2F%2Fevil.example', REJECT],
  // backslash, raw and encoded
  ['/public\\..\\admin', REJECT],
  ['/public\\admin', REJECT],
  ['/public%5cadmin', REJECT],
  ['/public%5C..%5Cadmin', REJECT],
  ['\\admin', REJECT],
  // repeated slashes
  ['//admin', '/admin'],
  ['//', '/'],
  ['/v1//users', '/v1/users'],
  ['/v1///users//42', '/v1/users/42'],
  ['/v1/users//', '/v1/users/'],
  ['/public//../admin', '/admin'],
  // `;` is literal, but a dot segment with parameters is rejected
  ['/v1/users;x', '/v1/users;x'],
  ['/v1/users;jsessionid=abc/42', '/v1/users;jsessionid=abc/42'],
  ['/public;/../admin', '/admin'],
  ['/public/..;/admin', REJECT],
  ['/public/.;/admin', REJECT],
  ['/public/..;jsessionid=1/admin', REJECT],
  ['/public/%2e%2e;/admin', REJECT],
  ['/public/..%3B/admin', '/public/..%3B/admin'],
  // NUL and other control characters, raw and encoded
  ['/public%00/admin', REJECT],
  ['/public\u0000', REJECT],
  ['/public%00.json', REJECT],
  ['/a%01', REJECT],
  ['/a%1f', REJECT],
  ['/a%1F', REJECT],
  ['/a%7f', REJECT],
  ['/a\u007f', REJECT],
  ['/a\tb', REJECT],
  ['/a\nb', REJECT],
  ['/a\r\nX-Injected: 1', REJECT],
  ['/a%0d%0aSet-Cookie:x', REJECT],
  ['/a%09b', REJECT],
  ['/a\u001b[31m', REJECT],
  // invalid percent-encoding
  ['/a%', REJECT],
  ['/a%4', REJECT],
  ['/a%2', REJECT],
  ['/a%zz', REJECT],
  ['/a%g0', REJECT],
  ['/a%-1', REJECT],
  ['/a%%32%65', REJECT],
  ['/%u002e%u002e/admin', REJECT],
  // escapes of unreserved characters are decoded, the others upper-cased
  ['/v1/%7Eme', '/v1/~me'],
  ['/v1/%7eme', '/v1/~me'],
  ['/v1/%41%62%63', '/v1/Abc'],
  ['/v1/a%2db%5fc', '/v1/a-b_c'],
  ['/v1/a%3ab', '/v1/a%3Ab'],
  ['/v1/a%3Ab', '/v1/a%3Ab'],
  ['/v1/a%20b', '/v1/a%20b'],
  ['/v1/%3f', '/v1/%3F'],
  ['/v1/%23', '/v1/%23'],
  // overlong, surrogate, out-of-range and truncated UTF-8 are rejected
  ['/public/%C0%AE%C0%AE/admin', REJECT],
  ['/%c0%ae%c0%ae/admin', REJECT],
  ['/%E0%80%AE%E0%80%AE/admin', REJECT],
  ['/public/..%C0%AFadmin', REJECT],
  ['/public%C0%AFadmin', REJECT],
  ['/%C1%9C', REJECT],
  ['/%F0%80%80%AE', REJECT],
  ['/%ED%A0%80', REJECT],
  ['/%F4%90%80%80', REJECT],
  ['/%C3', REJECT],
  ['/%C3/x', REJECT],
  ['/%C3%41', REJECT],
  ['/%E2%82', REJECT],
  ['/%AE', REJECT],
  ['/%FF', REJECT],
  // valid UTF-8 stays encoded
  ['/caf%C3%A9', '/caf%C3%A9'],
  ['/caf%c3%a9', '/caf%C3%A9'],
  ['/%E2%82%AC', '/%E2%82%AC'],
  ['/%F0%9F%98%80', '/%F0%9F%98%80'],
  ['/%ED%9F%BF', '/%ED%9F%BF'],
  // SPEC §18 look-alike characters, percent-encoded: what NFKC (or a confusable map) reads as a delimiter
  ['/foo/%EF%BC%8Fbar', REJECT], // U+FF0F fullwidth solidus
  ['/foo/%ef%bc%8fbar', REJECT],
  ['/foo/%E2%88%95bar', REJECT], // U+2215 division slash
  ['/foo/%E2%81%84bar', REJECT], // U+2044 fraction slash
  ['/foo/%EF%BC%8E%EF%BC%8E/admin', REJECT], // U+FF0E fullwidth full stop
  ['/foo/%E2%80%A5/admin', REJECT], // U+2025 two dot leader: ".."
  ['/foo/%EF%B9%92', REJECT], // U+FE52 small full stop
  ['/foo/bar%CD%BEx', REJECT], // U+037E Greek question mark: ";"
  ['/foo/bar%EF%BC%9Bx', REJECT], // U+FF1B fullwidth semicolon
  ['/foo/bar%EF%BC%9Fx', REJECT], // U+FF1F fullwidth question mark
  ['/foo/bar%EF%BC%83x', REJECT], // U+FF03 fullwidth number sign
  ['/foo/bar%EF%BC%85x', REJECT], // U+FF05 fullwidth percent sign
  ['/foo/bar%EF%BC%BCx', REJECT], // U+FF3C fullwidth reverse solidus
  ['/foo/%E2%84%80', REJECT], // U+2100 account of: "a/c"
  // non-ASCII that NFKC maps to letters is not a delimiter: the route step compares it (SPEC §18 case)
  ['/foo/%EF%BD%82ar', '/foo/%EF%BD%82ar'],
  ['/foo/%C2%BD', '/foo/%C2%BD'], // U+00BD "1⁄2": the fraction slash is not "/"
  // raw non-ASCII must be percent-encoded by the client
  ['/café', REJECT],
  ['/\u00e9', REJECT],
  ['/\u0080', REJECT],
  ['/\uff0e\uff0e/admin', REJECT],
  ['/public/\u2215admin', REJECT],
  ['/public/\u2025/admin', REJECT],
  // raw ASCII not legal in a path is re-encoded; `?` and `#` must have been split off
  ['/a|b', '/a%7Cb'],
  ['/a b', '/a%20b'],
  ['/a"b<c>', '/a%22b%3Cc%3E'],
  ['/a[0]', '/a%5B0%5D'],
  ['/a{b}^`', '/a%7Bb%7D%5E%60'],
  ['/a#frag', REJECT],
  ['/a?x=1', REJECT],
  // the path must start with `/`
  ['v1/users', REJECT],
  ['../admin', REJECT],
  ['.', REJECT],
  ['%2F', REJECT],
];

function outcome(input: string): Expected {
  try {
    return normalizePath(input);
  } catch (error) {
    expect(error).toBeInstanceOf(GatewayError);
    expect(error).toMatchObject({ status: 400, code: 'bad_path' });
    return REJECT;
  }
}

const UNRESERVED = /[A-Za-z0-9\-._~]/;

/** Every invariant an accepted path must satisfy (SPEC §5.1). */
function expectCanonical(normalized: string): void {
  expect(normalized.startsWith('/')).toBe(true);
  expect(normalized).not.toContain('//');
  expect(normalized).not.toContain('\\');
  expect(normalized).not.toMatch(/[^\x21-\x7e]/); // no control, space or non-ASCII
  expect(normalized).not.toMatch(/[#?]/);
  expect(normalized).not.toMatch(/%(2F|5C|[01][0-9A-F]|7F)/i);
  expect(normalized).not.toMatch(/%(?![0-9A-F]{2})/); // well-formed, upper-case escapes only
  expect(normalized).not.toMatch(/%25[0-9A-Fa-f]{2}/);
  for (const [escape, hex] of normalized.matchAll(/%([0-9A-F]{2})/g)) {
    expect(UNRESERVED.test(String.fromCharCode(parseInt(hex, 16)))).toBe(false);
    expect(escape).toBe(escape.toUpperCase());
  }
  for (const segment of normalized.split('/')) {
    expect(['.', '..']).not.toContain(segment);
    expect(segment).not.toMatch(/^\.\.?;/);
  }
  expect(outcome(normalized)).toBe(normalized);
}

const PUBLIC_ONLY = compileRoutes([{ path: '/public' }]);
const isUnderPublic = (path: string) => path === '/public' || path.startsWith('/public/');

describe('normalizePath', () => {
  it('has a corpus of at least 60 bypass attempts', () => {
    expect(CORPUS.length).toBeGreaterThanOrEqual(60);
    expect(new Set(CORPUS.map(([input]) => input)).size).toBe(CORPUS.length);
  });

  it.each(CORPUS.map(([input, expected]) => [JSON.stringify(input), input, expected] as const))(
    '%s',
    (_label, input, expected) => {
      expect(outcome(input)).toBe(expected);
    },
  );

  it('rejects with a 400 bad_path GatewayError', () => {
    expect(() => normalizePath('/a/%2F')).toThrow(GatewayError);
    expect(() => normalizePath('/..')).toThrow(expect.objectContaining({ status: 400, code: 'bad_path' }));
  });

  describe('every accepted corpus path', () => {
    const accepted = CORPUS.filter(([input]) => outcome(input) !== REJECT).map(([input]) => input);

    it.each(accepted)('%j is canonical and idempotent', (input) => {
      expectCanonical(normalizePath(input));
    });

    it.each(accepted)('%j matches /public only when truly under /public', (input) => {
      const normalized = normalizePath(input);
      expect(matchRoute(PUBLIC_ONLY, normalized, 'GET').route !== null).toBe(isUnderPublic(normalized));
    });
  });

  it.each([
    '/public/../admin',
    '/public/%2e%2e/admin',
    '/public/%2E%2E/admin',
    '/public/.%2e/admin',
    '/public/%252e%252e/admin',
    '/public/%2e%2e%2fadmin',
    '/public%2f..%2fadmin',
    '/public\\..\\admin',
    '/public/%5c..%5cadmin',
    '/public/..;/admin',
    '/public/%C0%AE%C0%AE/admin',
    '/public/%E0%80%AE%E0%80%AE/admin',
    '/public/..%C0%AFadmin',
    '/public/x/../../admin',
    '/public//../admin',
    '/public/./../admin',
    '/public%00/../admin',
    '/public/\uff0e\uff0e/admin',
    '/public/%EF%BC%8E%EF%BC%8E/admin',
    '/public/%EF%BC%8E%EF%BC%8E%EF%BC%8Fadmin',
  ])('%j cannot reach /admin through the /public route', (input) => {
    const result = outcome(input);
    if (result === REJECT) return;
    expect(isUnderPublic(result)).toBe(false);
    expect(matchRoute(PUBLIC_ONLY, result, 'GET').route).toBeNull();
  });

  it('keeps its invariants over random paths built from hostile tokens', () => {
    const tokens = [
      '/', '/', '/', '.', '..', '%2e', '%2E', '%2f', '%5c', '\\', '%25', '%', '2e', 'a', 'public',
      '%C0%AE', '%C3%A9', '%E2%82%AC', ';', '%00', '\t', '|', '%7e', '%41', 'é', '//', '?', '%3a',
    ];
    let seed = 42;
    const random = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    let accepted = 0;
    for (let n = 0; n < 5000; n++) {
      let input = random() < 0.9 ? '/' : '';
      const length = 1 + Math.floor(random() * 10);
      for (let t = 0; t < length; t++) input += tokens[Math.floor(random() * tokens.length)];
      const result = outcome(input);
      if (result === REJECT) continue;
      accepted++;
      expectCanonical(result);
      expect(matchRoute(PUBLIC_ONLY, result, 'GET').route !== null).toBe(isUnderPublic(result));
    }
    expect(accepted).toBeGreaterThan(500);
  });
});

describe('normalizePath and look-alike characters (SPEC §18)', () => {
  const DELIMITER = /[/\\.;?#%]/;
  const encoded = (codePoint: number) => encodeURIComponent(String.fromCodePoint(codePoint));

  it('refuses every encoded non-ASCII code point of the BMP whose NFKC form holds a delimiter, and no other', () => {
    const wrong: string[] = [];
    for (let cp = 0x80; cp <= 0xffff; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      const refused = outcome(`/a/${encoded(cp)}`) === REJECT;
      const delimiter = DELIMITER.test(String.fromCodePoint(cp).normalize('NFKC'));
      // The hand-listed slashes that NFKC leaves alone are refused too.
      const byHand = [0x2215, 0x2044, 0x29f8, 0x27cb, 0x2571, 0x29f9, 0x2216, 0x27cd, 0x2572].includes(cp);
      if (refused !== (delimiter || byHand)) wrong.push(`U+${cp.toString(16)}`);
    }
    expect(wrong).toEqual([]);
  });

  it('decodes four-byte sequences too: U+1F100 (NFKC "0.") is refused, U+1F600 is not', () => {
    expect(outcome(`/a/${encoded(0x1f100)}`)).toBe(REJECT);
    expect(outcome(`/a/${encoded(0x1f600)}`)).toBe(`/a/${encoded(0x1f600)}`);
  });

  it('names the character and what it reads as', () => {
    expect(() => normalizePath('/foo/%EF%BC%8Fbar')).toThrow('The path contains U+FF0F, which an upstream may read as "/".');
    expect(() => normalizePath('/foo/%E2%88%95bar')).toThrow('U+2215');
  });
});
