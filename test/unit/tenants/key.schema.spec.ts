import { validateKeyCreate, validateKeyPatch } from '../../../src/tenants/key.schema';

const HASH = 'ABCDEF0123456789abcdef0123456789ABCDEF0123456789abcdef0123456789';

function errorsOf(body: unknown): { path: string; message: string }[] {
  const result = validateKeyCreate(body);
  if (result.ok) throw new Error(`expected problems for ${JSON.stringify(body)}`);
  return result.errors;
}

describe('validateKeyCreate', () => {
  it('asks for a generated key that never expires when there is no body, a null one or an empty object', () => {
    for (const body of [undefined, null, {}]) expect(validateKeyCreate(body)).toEqual({ ok: true, value: { expiresAt: null } });
  });

  it('lower-cases a registered hash and writes expiresAt in UTC', () => {
    const future = new Date(Date.now() + 3_600_000);
    const offset = future.toISOString().replace('Z', '+00:00');
    expect(validateKeyCreate({ sha256: HASH, expiresAt: offset })).toEqual({
      ok: true,
      value: { sha256: HASH.toLowerCase(), expiresAt: future.toISOString() },
    });
    expect(validateKeyCreate({ expiresAt: null })).toEqual({ ok: true, value: { expiresAt: null } });
  });

  it.each([['abc'], [HASH + '0'], ['g'.repeat(64)], [64]])('refuses the hash %j', (sha256) => {
    expect(errorsOf({ sha256 })).toEqual([{ path: 'sha256', message: 'must be the 64 hex characters of a SHA-256 digest' }]);
  });

  it.each([['tomorrow'], ['2999-01-01'], [1_900_000_000], [true]])('refuses expiresAt %j', (expiresAt) => {
    expect(errorsOf({ expiresAt })).toEqual([{ path: 'expiresAt', message: 'must be an RFC 3339 date-time' }]);
  });

  it('refuses an instant in the past', () => {
    expect(errorsOf({ expiresAt: '2020-01-01T00:00:00Z' })).toEqual([{ path: 'expiresAt', message: 'must be in the future' }]);
  });

  it('reports every problem, naming the field a typo meant', () => {
    expect(errorsOf({ sha265: HASH, expiresAt: 'x', extra: 1 })).toEqual([
      { path: 'expiresAt', message: 'must be an RFC 3339 date-time' },
      { path: 'sha265', message: 'unknown field (did you mean "sha256"?)' },
      { path: 'extra', message: 'unknown field' },
    ]);
  });

  it.each([[[]], ['key'], [5]])('refuses a body that is not an object: %j', (body) => {
    expect(errorsOf(body)).toEqual([{ path: '', message: 'must be an object' }]);
  });
});

describe('key name and limit (SPEC §13)', () => {
  it('takes a name of 1 to 64 printable characters and a limit of the tenant shape at creation', () => {
    const rateLimit = { windowSeconds: 60, maxRequests: 10 };
    expect(validateKeyCreate({ name: 'ci — ☕', rateLimit })).toEqual({ ok: true, value: { name: 'ci — ☕', rateLimit, expiresAt: null } });
    expect(validateKeyCreate({ name: '☕'.repeat(64) }).ok).toBe(true);
    for (const name of ['', 'a\nb', '\u0007', '☕'.repeat(65), 3]) {
      expect(errorsOf({ name })).toEqual([{ path: 'name', message: 'must be 1 to 64 printable characters' }]);
    }
    expect(errorsOf({ rateLimit: { windowSeconds: 60 } }).map((e) => e.path)).toEqual(['rateLimit.maxRequests']);
  });
});

describe('validateKeyPatch', () => {
  it('keeps absent fields absent and null as null', () => {
    expect(validateKeyPatch({})).toEqual({ ok: true, value: {} });
    expect(validateKeyPatch(undefined)).toEqual({ ok: true, value: {} });
    expect(validateKeyPatch({ name: null, rateLimit: null, expiresAt: null, disabled: true })).toEqual({
      ok: true,
      value: { name: null, rateLimit: null, expiresAt: null, disabled: true },
    });
  });

  it('reports every problem, an unknown field with the one it probably meant', () => {
    const result = validateKeyPatch({ disabld: true, disabled: 'no', expiresAt: '2000-01-01T00:00:00Z', rateLimit: { maxRequests: 0, windowSeconds: 1 } });
    expect(result.ok).toBe(false);
    const errors = result.ok ? [] : result.errors;
    expect(errors.map((e) => e.path).sort()).toEqual(['disabld', 'disabled', 'expiresAt', 'rateLimit.maxRequests']);
    expect(errors.find((e) => e.path === 'disabld')?.message).toContain('disabled');
    expect(validateKeyPatch([]).ok).toBe(false);
  });
});
