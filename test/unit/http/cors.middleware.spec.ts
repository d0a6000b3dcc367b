import type { IncomingMessage } from 'node:http';
import { corsMiddleware, exposeUpstreamHeaders, type CorsPolicy } from '../../../src/http/cors.middleware';
import { RecordingResponse } from '../../support/recording-response';

/* SPEC §7 and §19 on the middleware alone; test/browser proves the same answers in a real browser. */

const APP = 'https://app.example.com';
const EVIL = 'https://evil.example.net';
const BUILT_IN = ['content-type', 'authorization', 'x-api-key', 'x-admin-token', 'x-request-id', 'traceparent', 'tracestate', 'idempotency-key'];

interface Outcome {
  res: RecordingResponse;
  passedOn: boolean;
}

function run(policy: Partial<CorsPolicy>, method: string, headers: Record<string, string>): Outcome {
  const middleware = corsMiddleware({ origins: [APP], allowedHeaders: [], maxAgeS: 600, ...policy });
  const res = new RecordingResponse();
  let passedOn = false;
  middleware({ method, headers } as unknown as IncomingMessage, res.asServerResponse(), () => (passedOn = true));
  return { res, passedOn };
}

function preflight(policy: Partial<CorsPolicy>, origin: string, requestHeaders?: string): Outcome {
  const headers: Record<string, string> = { origin, 'access-control-request-method': 'PUT' };
  if (requestHeaders !== undefined) headers['access-control-request-headers'] = requestHeaders;
  return run(policy, 'OPTIONS', headers);
}

const list = (res: RecordingResponse, name: string): string[] =>
  String(res.getHeader(name) ?? '')
    .split(',')
    .map((n) => n.trim().toLowerCase())
    .filter((n) => n !== '');

describe('CORS preflight (SPEC §7, §19)', () => {
  it('allows the built-in headers, traceparent, tracestate and Idempotency-Key included, and nothing else by default', () => {
    const { res, passedOn } = preflight({}, APP, 'x-api-key, traceparent, x-app-trace');
    expect(passedOn).toBe(false);
    expect(res.statusCode).toBe(204);
    expect(res.ends).toBe(1);
    expect(list(res, 'access-control-allow-headers').sort()).toEqual([...BUILT_IN].sort());
    expect(res.getHeader('access-control-allow-origin')).toBe(APP);
    expect(res.getHeader('access-control-allow-credentials')).toBe('true');
  });

  it('adds the CORS_ALLOWED_HEADERS names, once each, and still refuses others', () => {
    const { res } = preflight({ allowedHeaders: ['X-Correlation-Id', 'X-App-Trace'] }, APP, 'x-correlation-id, x-other');
    const allowed = list(res, 'access-control-allow-headers');
    expect(allowed).toEqual(expect.arrayContaining([...BUILT_IN, 'x-correlation-id', 'x-app-trace']));
    expect(allowed).not.toContain('x-other');
    expect(new Set(allowed).size).toBe(allowed.length);
  });

  it('with "*" answers the names the preflight asked for, never a literal "*", and varies on them', () => {
    const { res } = preflight({ allowedHeaders: '*' }, APP, 'X-Anything, x-api-key, X-Other-Thing');
    const allowed = list(res, 'access-control-allow-headers');
    expect(allowed).toEqual(expect.arrayContaining([...BUILT_IN, 'x-anything', 'x-other-thing']));
    expect(allowed).not.toContain('*');
    expect(list(res, 'vary')).toEqual(['origin', 'access-control-request-headers']);
  });

  it('with "*" echoes only well-formed header names', () => {
    const { res } = preflight({ allowedHeaders: '*' }, APP, 'x-good, bad name, "quoted", x-good, ,semi;colon');
    const allowed = list(res, 'access-control-allow-headers');
    expect(allowed.filter((n) => !BUILT_IN.includes(n))).toEqual(['x-good']);
  });

  it('sends CORS_MAX_AGE as Access-Control-Max-Age', () => {
    expect(preflight({}, APP).res.getHeader('access-control-max-age')).toBe('600');
    expect(preflight({ maxAgeS: 7200 }, APP).res.getHeader('access-control-max-age')).toBe('7200');
    expect(preflight({ maxAgeS: 0 }, APP).res.getHeader('access-control-max-age')).toBe('0');
  });

  it.each<[string, Partial<CorsPolicy>]>([
    ['a list', {}],
    ['a list with "*" headers', { allowedHeaders: '*' }],
  ])('with %s, an origin not allowed gets no Access-Control-* at all', (_name, policy) => {
    const { res } = preflight(policy, EVIL, 'x-api-key, x-anything');
    expect(res.statusCode).toBe(204);
    expect([...res.headers.keys()].filter((n) => n.startsWith('access-control-'))).toEqual([]);
  });

  it('CORS_ORIGINS=* answers any origin with "*" and no credentials', () => {
    const { res } = preflight({ origins: '*' }, EVIL, 'traceparent');
    expect(res.getHeader('access-control-allow-origin')).toBe('*');
    expect(res.getHeader('access-control-allow-credentials')).toBeUndefined();
    expect(list(res, 'access-control-allow-headers')).toContain('traceparent');
  });
});

describe('CORS on other requests (SPEC §19)', () => {
  it('exposes the gateway headers to an allowed origin, WWW-Authenticate included, and passes the request on', () => {
    const { res, passedOn } = run({}, 'GET', { origin: APP });
    expect(passedOn).toBe(true);
    expect(list(res, 'access-control-expose-headers')).toEqual([
      'x-request-id', 'ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset', 'retry-after', 'www-authenticate',
    ]);
    expect(res.getHeader('access-control-max-age')).toBeUndefined();
    expect(res.getHeader('access-control-allow-headers')).toBeUndefined();
  });

  it('an OPTIONS without Access-Control-Request-Method is no preflight: it goes on to the pipeline', () => {
    expect(run({}, 'OPTIONS', { origin: APP }).passedOn).toBe(true);
  });

  it('exposes nothing to an origin that is not allowed', () => {
    const { res } = run({}, 'GET', { origin: EVIL });
    expect(res.getHeader('access-control-expose-headers')).toBeUndefined();
    expect(res.getHeader('vary')).toBe('Origin');
  });
});

describe('exposeUpstreamHeaders', () => {
  it("adds the upstream's own exposed names to the gateway's, without repeats", () => {
    const { res } = run({}, 'GET', { origin: APP });
    exposeUpstreamHeaders(res.asServerResponse(), 'X-Upstream-Note, x-request-id, ETag');
    expect(list(res, 'access-control-expose-headers')).toEqual([
      'x-request-id', 'ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset', 'retry-after', 'www-authenticate',
      'x-upstream-note', 'etag',
    ]);
  });

  it('exposes nothing for an origin the gateway does not allow, whatever the upstream says', () => {
    const { res } = run({}, 'GET', { origin: EVIL });
    exposeUpstreamHeaders(res.asServerResponse(), 'X-Upstream-Note');
    expect(res.getHeader('access-control-expose-headers')).toBeUndefined();
  });

  it('leaves the gateway list alone when the upstream exposes nothing', () => {
    const { res } = run({}, 'GET', { origin: APP });
    const before = res.getHeader('access-control-expose-headers');
    exposeUpstreamHeaders(res.asServerResponse(), undefined);
    expect(res.getHeader('access-control-expose-headers')).toBe(before);
  });
});
