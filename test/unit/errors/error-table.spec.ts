import { STATUS_CODES } from 'node:http';
import { ERROR_CODES, ERROR_TABLE, type ErrorCode } from '../../../src/errors/error-table';
import * as factories from '../../../src/errors/gateway-error';
import { GatewayError } from '../../../src/errors/gateway-error';
import { AUTH_FAILURE_REASONS } from '../../../src/observability/metrics';

/*
 * The one table of codes: every code the SPEC names is in it with the SPEC's status, every factory
 * answers what the table says, and logs and metrics read their categories from it.
 */

/** Every code of SPEC.md's tables and text (§5.4, §6, §12, §13, §17, §18), with its status. */
const SPEC_CODES: Record<string, number> = {
  bad_path: 400,
  bad_request: 400,
  method_not_allowed: 405,
  missing_api_key: 401,
  invalid_api_key: 401,
  missing_jwt: 401,
  invalid_jwt: 401,
  tenant_disabled: 403,
  key_disabled: 403,
  route_not_allowed: 403,
  payload_too_large: 413,
  rate_limited: 429,
  tenant_misconfigured: 500,
  upstream_unavailable: 502,
  state_unavailable: 503,
  jwks_unavailable: 503,
  upstream_timeout: 504,
  malformed_json: 400,
  invalid_request: 400,
  invalid_tenant: 400,
  invalid_admin_token: 401,
  forbidden: 403,
  not_found: 404,
  tenant_not_found: 404,
  key_not_found: 404,
  token_not_found: 404,
  tenant_exists: 409,
  key_exists: 409,
  unsupported_media_type: 415,
  internal_error: 500,
};

/** The log category of each denial's own line (SPEC §8); every other code has none. */
const CATEGORIES: Partial<Record<ErrorCode, 'auth' | 'policy'>> = {
  missing_api_key: 'auth',
  invalid_api_key: 'auth',
  missing_jwt: 'auth',
  invalid_jwt: 'auth',
  jwks_unavailable: 'auth',
  invalid_admin_token: 'auth',
  tenant_disabled: 'policy',
  key_disabled: 'policy',
  route_not_allowed: 'policy',
  bad_path: 'policy',
  bad_request: 'policy',
  method_not_allowed: 'policy',
  rate_limited: 'policy',
  payload_too_large: 'policy',
};

/** gateway_auth_failures_total's `reason` values, in SPEC §8's order. */
const AUTH_REASONS = ['missing_api_key', 'invalid_api_key', 'missing_jwt', 'invalid_jwt', 'jwks_unavailable'];

describe('ERROR_TABLE', () => {
  it('holds exactly the codes the SPEC names, each with the SPEC status', () => {
    expect([...ERROR_CODES].sort()).toEqual(Object.keys(SPEC_CODES).sort());
    for (const code of ERROR_CODES) expect([code, ERROR_TABLE[code].status]).toEqual([code, SPEC_CODES[code]]);
  });

  it.each(ERROR_CODES)('titles %s with the HTTP reason phrase of its status', (code) => {
    const { status, title } = ERROR_TABLE[code];
    expect(STATUS_CODES[status]).toBeDefined();
    expect(title).toBe(STATUS_CODES[status]);
  });

  it('gives auth and policy log lines to the denials SPEC §8 names, and none to any other code', () => {
    const categories = Object.fromEntries(ERROR_CODES.map((code) => [code, ERROR_TABLE[code].category]));
    expect(categories).toEqual(Object.fromEntries(ERROR_CODES.map((code) => [code, CATEGORIES[code] ?? null])));
  });

  it('counts the five auth failures, route denials and rate-limited requests, and nothing else', () => {
    const expected = (code: ErrorCode) =>
      AUTH_REASONS.includes(code) ? 'auth_failure' : code === 'route_not_allowed' ? 'route_denial' : code === 'rate_limited' ? 'rate_limited' : null;
    expect(Object.fromEntries(ERROR_CODES.map((code) => [code, ERROR_TABLE[code].metric]))).toEqual(
      Object.fromEntries(ERROR_CODES.map((code) => [code, expected(code)])),
    );
    expect(AUTH_FAILURE_REASONS).toEqual(AUTH_REASONS);
  });

  it('cannot be changed at run time', () => {
    expect(Object.isFrozen(ERROR_TABLE)).toBe(true);
    expect(Object.isFrozen(ERROR_TABLE.bad_path)).toBe(true);
  });
});

describe('GatewayError factories', () => {
  const issues = [{ path: 'id', message: 'is required' }];
  /** Each factory with arguments, and the code it answers with. */
  const cases: [string, () => GatewayError, ErrorCode][] = [
    ['badPath', () => factories.badPath('why'), 'bad_path'],
    ['badRequest', () => factories.badRequest('why'), 'bad_request'],
    ['methodNotAllowed', () => factories.methodNotAllowed('why', 'GET'), 'method_not_allowed'],
    ['missingApiKey', () => factories.missingApiKey(), 'missing_api_key'],
    ['invalidApiKey', () => factories.invalidApiKey(), 'invalid_api_key'],
    ['tenantDisabled', () => factories.tenantDisabled(), 'tenant_disabled'],
    ['routeNotAllowed', () => factories.routeNotAllowed('GET', '/x'), 'route_not_allowed'],
    ['missingJwt', () => factories.missingJwt(), 'missing_jwt'],
    ['invalidJwt', () => factories.invalidJwt('expired'), 'invalid_jwt'],
    ['jwksUnavailable', () => factories.jwksUnavailable('down'), 'jwks_unavailable'],
    ['rateLimited', () => factories.rateLimited(3), 'rate_limited'],
    ['payloadTooLarge', () => factories.payloadTooLarge(1024), 'payload_too_large'],
    ['tenantMisconfigured', () => factories.tenantMisconfigured(), 'tenant_misconfigured'],
    ['upstreamUnavailable', () => factories.upstreamUnavailable(), 'upstream_unavailable'],
    ['stateUnavailable', () => factories.stateUnavailable(), 'state_unavailable'],
    ['upstreamTimeout', () => factories.upstreamTimeout(), 'upstream_timeout'],
    ['invalidAdminToken', () => factories.invalidAdminToken(), 'invalid_admin_token'],
    ['tenantExists', () => factories.tenantExists('acme'), 'tenant_exists'],
    ['tenantNotFound', () => factories.tenantNotFound('acme'), 'tenant_not_found'],
    ['keyNotFound', () => factories.keyNotFound('key_1'), 'key_not_found'],
    ['invalidTenant', () => factories.invalidTenant(issues), 'invalid_tenant'],
    ['invalidRequest', () => factories.invalidRequest(issues), 'invalid_request'],
    ['unsupportedMediaType', () => factories.unsupportedMediaType(), 'unsupported_media_type'],
    ['malformedJson', () => factories.malformedJson('bad'), 'malformed_json'],
    ['adminBodyTooLarge', () => factories.adminBodyTooLarge(), 'payload_too_large'],
    ['keyExists', () => factories.keyExists(), 'key_exists'],
    ['keyDisabled', () => factories.keyDisabled(), 'key_disabled'],
    ['tokenNotFound', () => factories.tokenNotFound('tok_1'), 'token_not_found'],
    ['forbidden', () => factories.forbidden(), 'forbidden'],
    ['internalError', () => factories.internalError(), 'internal_error'],
  ];

  it('are all listed here', () => {
    const exported = Object.entries(factories)
      .filter(([name, value]) => typeof value === 'function' && name !== 'GatewayError')
      .map(([name]) => name);
    expect(exported.sort()).toEqual(cases.map(([name]) => name).sort());
  });

  it.each(cases)('%s answers its code with the status of the table', (_name, make, code) => {
    const error = make();
    expect(error).toBeInstanceOf(GatewayError);
    expect([error.code, error.status]).toEqual([code, ERROR_TABLE[code].status]);
  });
});
