import { hashApiKey } from '../../../src/tenants/api-key';
import { parseTenantsFile } from '../../../src/tenants/tenants-file';

const STRICT = { jwksAllowHttp: false };
const KEY_A = 'sgw_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
const KEY_B = 'sgw_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb';
const HASH_C = 'ABCDEF0123456789abcdef0123456789ABCDEF0123456789abcdef0123456789';

function tenant(id: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { id, upstreamBaseUrl: `http://${id}.internal/`, allowedRoutes: [{ path: '/v1', methods: ['get'] }], ...extra };
}

function file(tenants: unknown, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ tenants, ...extra });
}

function errorsOf(text: string, opts = STRICT): { path: string; message: string }[] {
  const result = parseTenantsFile(text, opts);
  if (result.ok) throw new Error('expected the file to be refused');
  return result.errors;
}

function pathsOf(text: string, opts = STRICT): string[] {
  return errorsOf(text, opts).map((e) => e.path);
}

describe('parseTenantsFile', () => {
  it('returns each validated tenant with its keys and lower-cased key hashes', () => {
    const text = file([
      { ...tenant('acme'), apiKeys: [KEY_A, KEY_B], apiKeyHashes: [HASH_C] },
      tenant('globex'),
    ]);
    const result = parseTenantsFile(text, STRICT);
    expect(result).toEqual({
      ok: true,
      entries: [
        {
          tenant: { id: 'acme', upstreamBaseUrl: 'http://acme.internal', allowedRoutes: [{ path: '/v1', methods: ['GET'] }] },
          apiKeys: [KEY_A, KEY_B],
          apiKeyHashes: [HASH_C.toLowerCase()],
          keyFields: new Map(),
        },
        {
          tenant: { id: 'globex', upstreamBaseUrl: 'http://globex.internal', allowedRoutes: [{ path: '/v1', methods: ['GET'] }] },
          apiKeys: [],
          apiKeyHashes: [],
          keyFields: new Map(),
        },
      ],
    });
  });

  it('takes a key as an object with its name, rate limit, suspension and expiry, by the hash of the key', () => {
    const text = file([
      {
        ...tenant('acme'),
        apiKeys: [{ key: KEY_A, name: 'ci', rateLimit: { windowSeconds: 60, maxRequests: 5 }, disabled: true }, KEY_B],
        apiKeyHashes: [{ sha256: HASH_C, expiresAt: '2001-02-03T04:05:06+01:00' }],
      },
    ]);
    const result = parseTenantsFile(text, STRICT);
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    const [entry] = result.entries;
    expect([entry.apiKeys, entry.apiKeyHashes]).toEqual([[KEY_A, KEY_B], [HASH_C.toLowerCase()]]);
    expect(entry.keyFields).toEqual(
      new Map<string, unknown>([
        [hashApiKey(KEY_A), { name: 'ci', rateLimit: { windowSeconds: 60, maxRequests: 5 }, disabled: true }],
        [HASH_C.toLowerCase(), { expiresAt: '2001-02-03T03:05:06.000Z' }],
      ]),
    );
  });

  it('reports each problem of a key object with its path, and never repeats the key', () => {
    const errors = errorsOf(
      file([{ ...tenant('acme'), apiKeys: [{ key: 'short-secret', name: '', rateLimit: { windowSeconds: 0, maxRequests: 1 }, disabled: 'yes', colour: 1 }, 42], apiKeyHashes: [{ expiresAt: 'tomorrow' }] }]),
    );
    const paths = errors.map((e) => e.path);
    for (const path of ['tenants[0].apiKeys[0].key', 'tenants[0].apiKeys[0].name', 'tenants[0].apiKeys[0].rateLimit.windowSeconds', 'tenants[0].apiKeys[0].disabled', 'tenants[0].apiKeys[0].colour', 'tenants[0].apiKeys[1]', 'tenants[0].apiKeyHashes[0].sha256', 'tenants[0].apiKeyHashes[0].expiresAt']) {
      expect(paths).toContain(path);
    }
    expect(JSON.stringify(errors)).not.toContain('short-secret');
  });

  it('finds one key listed twice when one listing is an object', () => {
    expect(pathsOf(file([{ ...tenant('acme'), apiKeys: [KEY_A, { key: KEY_A, name: 'again' }] }]))).toEqual(['tenants[0].apiKeys[1]']);
  });

  it('accepts an empty tenant list and a leading byte order mark', () => {
    expect(parseTenantsFile('\uFEFF{"tenants":[]}', STRICT)).toEqual({ ok: true, entries: [] });
  });

  it('reports a JSON syntax error as one issue at the root with the parser message', () => {
    const text = '{"tenants": [';
    let parserMessage = '';
    try {
      JSON.parse(text);
    } catch (err) {
      parserMessage = (err as Error).message;
    }
    expect(errorsOf(text)).toEqual([{ path: '', message: `not valid JSON: ${parserMessage}` }]);
  });

  it('never repeats the text around a syntax error: it may be part of an API key', () => {
    // An unquoted key: V8 quotes the text around the unexpected token in its message.
    const text = `{"tenants":[{"id":"acme","apiKeys":[${KEY_A}]}]}`;
    const errors = errorsOf(text);
    expect(errors).toEqual([{ path: '', message: expect.stringMatching(/^not valid JSON: /) as string }]);
    expect(JSON.stringify(errors)).not.toMatch(/sgw_|aaaa/);
  });

  it.each([
    ['a non-object root', '[]', ['']],
    ['a missing tenants list', '{}', ['tenants']],
    ['a non-array tenants', '{"tenants":{"acme":{}}}', ['tenants']],
    ['an unknown root field', file([], { tenant: [] }), ['tenant']],
    ['a non-object entry', file([tenant('acme'), 'globex']), ['tenants[1]']],
  ])('refuses %s', (_label, text, paths) => {
    expect(pathsOf(text)).toEqual(paths);
  });

  it('prefixes tenant problems with the entry path', () => {
    const text = file([
      tenant('acme'),
      tenant('globex', { allowedRoutes: [{ path: 'v1' }], idp: { issuer: 'x', jwksUri: 'https://i/j', aud: 'a' } }),
      { ...tenant('initech'), apiKey: [KEY_A] },
    ]);
    expect(pathsOf(text)).toEqual(['tenants[1].allowedRoutes[0].path', 'tenants[1].idp.aud', 'tenants[2].apiKey']);
  });

  it('reports problems in every entry, together with key problems', () => {
    const text = file([
      { ...tenant('-bad'), apiKeys: ['short'] },
      { ...tenant('ok'), apiKeyHashes: ['abc'] },
      { id: 'x', apiKeys: [KEY_A] },
    ]);
    expect(pathsOf(text)).toEqual([
      'tenants[0].id',
      'tenants[0].apiKeys[0]',
      'tenants[1].apiKeyHashes[0]',
      'tenants[2].upstreamBaseUrl',
      'tenants[2].allowedRoutes',
    ]);
  });

  it('passes jwksAllowHttp to the tenant schema', () => {
    const text = file([tenant('acme', { idp: { issuer: 'acme', jwksUri: 'http://idp.acme.internal/jwks' } })]);
    expect(pathsOf(text)).toEqual(['tenants[0].idp.jwksUri']);
    expect(parseTenantsFile(text, { jwksAllowHttp: true }).ok).toBe(true);
  });

  describe('apiKeys', () => {
    it.each([
      ['15 characters', 'a'.repeat(15)],
      ['513 characters', 'a'.repeat(513)],
      ['a space', 'sgw_aaaaaaaa aaaaaaaaaaaaaa'],
      ['a control character', 'sgw_aaaaaaaaaaaaaaa\u0001'],
      ['a non-ASCII character', 'sgw_aaaaaaaaaaaaaaaé'],
      ['an empty string', ''],
      ['a number', 1234567890123456],
    ])('refuses a key of %s without repeating it', (_label, key) => {
      const errors = errorsOf(file([{ ...tenant('acme'), apiKeys: [KEY_A, key] }]));
      expect(errors.map((e) => e.path)).toEqual(['tenants[0].apiKeys[1]']);
      if (typeof key === 'string' && key !== '') expect(errors[0].message).not.toContain(key);
    });

    it('accepts keys of 16 and 512 printable characters', () => {
      const keys = ['!'.repeat(16), '~'.repeat(512)];
      const result = parseTenantsFile(file([{ ...tenant('acme'), apiKeys: keys }]), STRICT);
      expect(result.ok && result.entries[0].apiKeys).toEqual(keys);
    });

    it('refuses a non-array list', () => {
      expect(pathsOf(file([{ ...tenant('acme'), apiKeys: KEY_A }]))).toEqual(['tenants[0].apiKeys']);
    });
  });

  describe('apiKeyHashes', () => {
    it.each([['63 hex digits', 'a'.repeat(63)], ['65 hex digits', 'a'.repeat(65)], ['a non-hex digit', 'g'.repeat(64)], ['a number', 5]])(
      'refuses %s',
      (_label, hash) => {
        expect(pathsOf(file([{ ...tenant('acme'), apiKeyHashes: [hash] }]))).toEqual(['tenants[0].apiKeyHashes[0]']);
      },
    );

    it('refuses a non-array list', () => {
      expect(pathsOf(file([{ ...tenant('acme'), apiKeyHashes: HASH_C }]))).toEqual(['tenants[0].apiKeyHashes']);
    });
  });

  describe('duplicates', () => {
    it('refuses a tenant id listed twice', () => {
      const errors = errorsOf(file([tenant('acme'), tenant('globex'), tenant('acme')]));
      expect(errors).toEqual([{ path: 'tenants[2].id', message: 'duplicates tenants[0].id' }]);
    });

    it('refuses one API key for two tenants', () => {
      const text = file([
        { ...tenant('acme'), apiKeys: [KEY_A] },
        { ...tenant('globex'), apiKeys: [KEY_B, KEY_A] },
      ]);
      expect(errorsOf(text)).toEqual([{ path: 'tenants[1].apiKeys[1]', message: 'is the same API key as tenants[0].apiKeys[0]' }]);
    });

    it('refuses a key also listed by its hash, whatever the hash case', () => {
      const hash = hashApiKey(KEY_A).toUpperCase();
      const text = file([{ ...tenant('acme'), apiKeys: [KEY_A] }, { ...tenant('globex'), apiKeyHashes: [hash] }]);
      expect(pathsOf(text)).toEqual(['tenants[1].apiKeyHashes[0]']);
    });
  });
});
