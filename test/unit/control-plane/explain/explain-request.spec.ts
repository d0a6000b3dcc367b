import { parseExplainRequest } from '../../../../src/control-plane/explain/explain-request';
import { GatewayError } from '../../../../src/errors/gateway-error';

function problemsOf(body: unknown): { path: string; message: string }[] {
  try {
    parseExplainRequest(body);
  } catch (err) {
    expect(err).toBeInstanceOf(GatewayError);
    expect((err as GatewayError).code).toBe('invalid_request');
    return (err as GatewayError).extra!.errors as { path: string; message: string }[];
  }
  throw new Error('expected invalid_request');
}

describe('parseExplainRequest', () => {
  it('takes an API key, upper-cases the method and lower-cases header names', () => {
    expect(parseExplainRequest({ apiKey: 'k', method: 'get', path: '/v1/x?a=1', headers: { Authorization: 'Bearer t' } })).toEqual({
      apiKey: 'k',
      method: 'GET',
      path: '/v1/x?a=1',
      headers: { authorization: 'Bearer t' },
    });
  });

  it('trims the key and header values as Node trims real header values', () => {
    expect(parseExplainRequest({ apiKey: ' k\t', method: 'GET', path: '/', headers: { Authorization: '  Bearer t ' } })).toMatchObject({
      apiKey: 'k',
      headers: { authorization: 'Bearer t' },
    });
  });

  it('takes a tenant id instead of a key, headers optional', () => {
    expect(parseExplainRequest({ tenantId: 'acme', method: 'POST', path: '/' })).toEqual({
      tenantId: 'acme',
      method: 'POST',
      path: '/',
      headers: {},
    });
  });

  it('keeps an empty API key: the data plane answers missing_api_key for it', () => {
    expect(parseExplainRequest({ apiKey: '', method: 'GET', path: '/' }).apiKey).toBe('');
  });

  it('reports every problem at once', () => {
    expect(problemsOf({ method: 'G E T', path: 'v1', headers: { a: 1 }, extra: true })).toEqual(
      expect.arrayContaining([
        { path: 'extra', message: 'unknown field' },
        { path: '', message: 'needs "apiKey" or "tenantId"' },
        expect.objectContaining({ path: 'method' }),
        expect.objectContaining({ path: 'path' }),
        { path: 'headers.a', message: 'must be a string' },
      ]),
    );
  });

  it('names the field a misspelt one probably meant', () => {
    expect(problemsOf({ apikey: 'k', method: 'GET', path: '/' })).toEqual([
      { path: 'apikey', message: 'unknown field (did you mean "apiKey"?)' },
      { path: '', message: 'needs "apiKey" or "tenantId"' },
    ]);
    expect(problemsOf({ tenantId: 't', method: 'GET', path: '/', header: {} })).toEqual([
      { path: 'header', message: 'unknown field (did you mean "headers"?)' },
    ]);
  });

  it.each([
    ['both apiKey and tenantId', { apiKey: 'k', tenantId: 't', method: 'GET', path: '/' }, ''],
    ['a non-string key', { apiKey: 1, method: 'GET', path: '/' }, 'apiKey'],
    ['an empty tenant id', { tenantId: '', method: 'GET', path: '/' }, 'tenantId'],
    ['headers as an array', { tenantId: 't', method: 'GET', path: '/', headers: [] }, 'headers'],
    ['a path over 16 KiB', { tenantId: 't', method: 'GET', path: '/' + 'a'.repeat(16 * 1024) }, 'path'],
  ])('refuses %s', (_name, body, path) => {
    expect(problemsOf(body).map((p) => p.path)).toContain(path);
  });

  it.each([null, [], 'text', 42])('refuses a body that is not an object: %p', (body) => {
    expect(problemsOf(body)).toEqual([{ path: '', message: 'must be a JSON object' }]);
  });
});
