import { ERROR_TABLE, type ErrorCode } from './error-table';

/**
 * Every response the gateway produces itself is one of these, rendered as RFC 9457 problem JSON.
 * `code` is the stable SPEC §5.4 / §6 code clients and dashboards match on; its status comes from
 * the error table.
 */
export class GatewayError extends Error {
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    readonly detail: string,
    /** Extra members of the problem document (e.g. `errors` for invalid_tenant). */
    readonly extra?: Record<string, unknown>,
    /** Extra response headers (e.g. WWW-Authenticate, Retry-After). */
    readonly headers?: Record<string, string>,
  ) {
    super(detail);
    this.name = 'GatewayError';
    this.status = ERROR_TABLE[code].status;
  }
}

export interface ValidationIssue {
  path: string;
  message: string;
}

export const badPath = (detail: string) => new GatewayError('bad_path', detail);
export const badRequest = (detail: string) => new GatewayError('bad_request', detail);
export const methodNotAllowed = (detail: string, allow: string) =>
  new GatewayError('method_not_allowed', detail, undefined, { Allow: allow });
export const missingApiKey = () => new GatewayError('missing_api_key', 'The X-API-Key header is required.');
export const invalidApiKey = () => new GatewayError('invalid_api_key', 'The API key is not valid.');
export const tenantDisabled = () => new GatewayError('tenant_disabled', 'The tenant is disabled.');
export const keyDisabled = () => new GatewayError('key_disabled', 'The API key is suspended.');
export const routeNotAllowed = (method: string, path: string) =>
  new GatewayError('route_not_allowed', `No allowed route matches ${method} ${path}.`);
export const missingJwt = () =>
  new GatewayError('missing_jwt', 'A bearer token is required for this route.', undefined, {
    'WWW-Authenticate': 'Bearer',
  });
export const invalidJwt = (detail: string) =>
  new GatewayError('invalid_jwt', detail, undefined, { 'WWW-Authenticate': 'Bearer error="invalid_token"' });
export const jwksUnavailable = (detail: string) => new GatewayError('jwks_unavailable', detail);
export const rateLimited = (retryAfterSeconds: number, bucket: 'tenant' | 'key' = 'tenant') =>
  new GatewayError('rate_limited', bucket === 'key' ? "The API key's rate limit is exhausted." : 'The tenant rate limit is exhausted.', undefined, {
    'Retry-After': String(retryAfterSeconds),
  });
export const payloadTooLarge = (limit: number) =>
  new GatewayError('payload_too_large', `The request body exceeds ${limit} bytes.`);
export const tenantMisconfigured = () =>
  new GatewayError('tenant_misconfigured', 'The tenant configuration is invalid.');
export const upstreamUnavailable = () =>
  new GatewayError('upstream_unavailable', 'The upstream service could not be reached.');
export const stateUnavailable = () =>
  new GatewayError('state_unavailable', 'The gateway state store is unavailable.');
export const upstreamTimeout = () =>
  new GatewayError('upstream_timeout', 'The upstream service did not respond in time.');

export const invalidAdminToken = () =>
  new GatewayError('invalid_admin_token', 'A valid X-Admin-Token header is required.');
export const tenantExists = (id: string) => new GatewayError('tenant_exists', `Tenant "${id}" already exists.`);
export const tenantNotFound = (id: string) =>
  new GatewayError('tenant_not_found', `Tenant "${id}" does not exist.`);
export const keyNotFound = (keyId: string) => new GatewayError('key_not_found', `Key "${keyId}" does not exist.`);
export const tokenNotFound = (tokenId: string) => new GatewayError('token_not_found', `Token "${tokenId}" does not exist.`);
export const forbidden = () => new GatewayError('forbidden', 'This admin token may not use this route.');
export const invalidTenant = (errors: ValidationIssue[]) =>
  new GatewayError('invalid_tenant', `The tenant has ${errors.length} problem(s).`, { errors });
export const invalidRequest = (errors: ValidationIssue[]) =>
  new GatewayError('invalid_request', `The request has ${errors.length} problem(s).`, { errors });
export const unsupportedMediaType = () =>
  new GatewayError('unsupported_media_type', 'Request bodies must be application/json.');
export const malformedJson = (detail: string) => new GatewayError('malformed_json', detail);
export const adminBodyTooLarge = () =>
  new GatewayError('payload_too_large', 'Admin request bodies are limited to 1 MiB.');
export const keyExists = () => new GatewayError('key_exists', 'This key is already registered.');
export const internalError = () => new GatewayError('internal_error', 'The gateway failed to handle the request.');
