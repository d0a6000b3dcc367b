import type { JWTPayload } from 'jose';
import type { GatewayError } from '../../src/errors/gateway-error';
import type { JwtVerifier } from '../../src/policy/steps/jwt/jwt-verifier';
import type { Tenant } from '../../src/tenants/tenant.model';
import { validateTenant } from '../../src/tenants/tenant.schema';
import { gatewayErrorOf } from './gateway-error';

/** Shared by the verifier's suites: one issuer and audience, and what a good token claims. */
export const ISSUER = 'https://idp.test/';
export const AUDIENCE = 'api.test';

export const claims = (extra: JWTPayload = {}): JWTPayload => ({ iss: ISSUER, aud: AUDIENCE, sub: 'user-1', ...extra });
export const bearer = (token: string): string => `Bearer ${token}`;

/** A validated tenant with this `idp` (validation is what gives it its defaults). */
export function tenantWithIdp(idp: Record<string, unknown>): Tenant {
  const result = validateTenant({ id: 't', upstreamBaseUrl: 'https://up.test', allowedRoutes: [{ path: '/' }], idp }, { jwksAllowHttp: false });
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.tenant;
}

/** The verifier refuses the header with 401 invalid_jwt and the RFC 6750 challenge; returns the error. */
export async function expectInvalidJwt(verifier: JwtVerifier, tenant: Tenant, authorization: string): Promise<GatewayError> {
  const err = await gatewayErrorOf(() => verifier.verify(tenant, authorization));
  expect({ status: err.status, code: err.code, wwwAuthenticate: err.headers?.['WWW-Authenticate'] }).toEqual({
    status: 401,
    code: 'invalid_jwt',
    wwwAuthenticate: 'Bearer error="invalid_token"',
  });
  return err;
}
