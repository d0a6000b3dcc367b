import * as z from 'zod';
import { closestName, formatPath, integer, strictObject, validate } from '../../../src/config/schema';

describe('schema kit', () => {
  it('writes paths as our problems show them', () => {
    expect(formatPath([])).toBe('');
    expect(formatPath(['allowedRoutes', 0, 'path'])).toBe('allowedRoutes[0].path');
    expect(formatPath(['idp', 'jwks', 'keys', 1, 'kty'])).toBe('idp.jwks.keys[1].kty');
    expect(formatPath([2, 'x'])).toBe('[2].x');
  });

  it('suggests the known name within two edits, ignoring case', () => {
    expect(closestName('alowedRoutes', ['id', 'allowedRoutes'])).toBe('allowedRoutes');
    expect(closestName('JWT', ['jwt'])).toBe('jwt');
    expect(closestName('apikey', ['apiKey', 'tenantId'])).toBe('apiKey');
    expect(closestName('extra', ['id', 'name'])).toBeUndefined();
    expect(closestName('abcdef', ['abcxyz'])).toBeUndefined();
  });

  it('reports each unknown field of a strict object at its own path, with a hint where one fits', () => {
    const schema = z.object({ inner: strictObject({ windowSeconds: z.number() }) });
    expect(validate(schema, { inner: { windowSecond: 1, windowSeconds: 1, other: 2 } })).toEqual({
      ok: false,
      errors: [
        { path: 'inner.windowSecond', message: 'unknown field (did you mean "windowSeconds"?)' },
        { path: 'inner.other', message: 'unknown field' },
      ],
    });
  });

  it('lists every problem, in our wording, each once', () => {
    const schema = strictObject({ a: z.string(), b: z.boolean(), n: integer(1, 10), list: z.array(z.string()) }, 'must be a JSON object');
    expect(validate(schema, { b: 'yes', n: 2 ** 60, list: ['x', 1] })).toEqual({
      ok: false,
      errors: [
        { path: 'a', message: 'is required' },
        { path: 'b', message: 'must be true or false' },
        { path: 'n', message: 'must be an integer between 1 and 10' },
        { path: 'list[1]', message: 'must be a string' },
      ],
    });
    expect(validate(schema, [])).toEqual({ ok: false, errors: [{ path: '', message: 'must be a JSON object' }] });
  });

  it("reports a union's problems from the branch whose type fitted the input", () => {
    const schema = z.object({ aud: z.union([z.string(), z.array(z.string())], { error: 'must be a string or strings' }) });
    expect(validate(schema, { aud: ['a', 2] })).toEqual({ ok: false, errors: [{ path: 'aud[1]', message: 'must be a string' }] });
    expect(validate(schema, { aud: 7 })).toEqual({ ok: false, errors: [{ path: 'aud', message: 'must be a string or strings' }] });
  });
});
