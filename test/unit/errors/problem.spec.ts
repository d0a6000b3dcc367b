import {
  GatewayError,
  invalidTenant,
  missingApiKey,
  missingJwt,
  payloadTooLarge,
  stateUnavailable,
} from '../../../src/errors/gateway-error';
import { problemBody, sendProblem } from '../../../src/errors/problem';
import { RecordingResponse } from '../../support/recording-response';

function send(error: GatewayError, requestId = 'req-1'): RecordingResponse {
  const res = new RecordingResponse();
  sendProblem(res.asServerResponse(), error, requestId);
  return res;
}

describe('problemBody', () => {
  it('is the RFC 9457 document of SPEC §5.4, members in order', () => {
    const body = problemBody(missingApiKey(), 'req-42');
    expect(body).toBe(
      JSON.stringify({
        type: 'about:blank',
        title: 'Unauthorized',
        status: 401,
        detail: 'The X-API-Key header is required.',
        code: 'missing_api_key',
        requestId: 'req-42',
      }),
    );
  });

  it.each([
    ['bad_path', 400, 'Bad Request'],
    ['forbidden', 403, 'Forbidden'],
    ['not_found', 404, 'Not Found'],
    ['payload_too_large', 413, 'Payload Too Large'],
    ['rate_limited', 429, 'Too Many Requests'],
    ['internal_error', 500, 'Internal Server Error'],
    ['upstream_unavailable', 502, 'Bad Gateway'],
    ['state_unavailable', 503, 'Service Unavailable'],
    ['upstream_timeout', 504, 'Gateway Timeout'],
  ] as const)('gives %s status %i and the HTTP title %s', (code, status, title) => {
    expect(JSON.parse(problemBody(new GatewayError(code, 'why'), 'r'))).toMatchObject({ status, title, code });
  });

  it('adds extra members such as errors', () => {
    const errors = [
      { path: 'upstreamBaseUrl', message: 'is required' },
      { path: 'allowedRoutes[0].path', message: 'must start with "/"' },
    ];
    expect(JSON.parse(problemBody(invalidTenant(errors), 'req-7'))).toEqual({
      type: 'about:blank',
      title: 'Bad Request',
      status: 400,
      detail: 'The tenant has 2 problem(s).',
      code: 'invalid_tenant',
      requestId: 'req-7',
      errors,
    });
  });

  it('keeps response headers out of the document', () => {
    expect(JSON.parse(problemBody(missingJwt(), 'r'))).not.toHaveProperty('headers');
  });
});

describe('sendProblem', () => {
  it('writes the status, the problem body once, and its headers', () => {
    const res = send(stateUnavailable(), 'req-9');
    expect(res.statusCode).toBe(503);
    expect(res.ends).toBe(1);
    expect(res.body).toBe(problemBody(stateUnavailable(), 'req-9'));
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(res.headers.get('x-request-id')).toBe('req-9');
    expect(res.headers.get('cache-control')).toBe('no-store');
  });

  it('sets Content-Length to the body length in bytes, not characters', () => {
    const res = send(new GatewayError('bad_path', 'No allowed route matches GET /café/…'));
    expect(Number(res.headers.get('content-length'))).toBe(Buffer.byteLength(res.body!));
    expect(Number(res.headers.get('content-length'))).toBeGreaterThan(res.body!.length);
  });

  it("adds the error's own headers", () => {
    const res = send(missingJwt());
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
    const limited = send(new GatewayError('rate_limited', 'slow down', undefined, { 'Retry-After': '3' }));
    expect(limited.headers.get('retry-after')).toBe('3');
  });

  it('closes the connection on 413, and only then', () => {
    expect(send(payloadTooLarge(1024)).headers.get('connection')).toBe('close');
    expect(send(missingApiKey()).headers.has('connection')).toBe(false);
    expect(send(stateUnavailable()).headers.has('connection')).toBe(false);
  });
});
