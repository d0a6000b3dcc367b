import type { AllowedRoute, Tenant } from '../../../tenants/tenant.model';

/**
 * SPEC §3: the route's setting, else the tenant's, else required whenever the tenant has an
 * identity provider (secure by default).
 */
export function jwtRequired(tenant: Tenant, route: AllowedRoute): boolean {
  return route.auth?.jwt ?? tenant.auth?.jwt ?? Boolean(tenant.idp);
}

/** Which setting decided the requirement: the route's, the tenant's, the presence of an idp, or the default. */
export type JwtSource = 'route' | 'tenant' | 'idp' | 'default';

/** `jwtRequired` with its reason, for listings and explanations (not the hot path: it allocates). */
export function jwtRequirement(tenant: Tenant, route: AllowedRoute): { required: boolean; source: JwtSource } {
  if (route.auth?.jwt !== undefined) return { required: route.auth.jwt, source: 'route' };
  if (tenant.auth?.jwt !== undefined) return { required: tenant.auth.jwt, source: 'tenant' };
  return tenant.idp ? { required: true, source: 'idp' } : { required: false, source: 'default' };
}
