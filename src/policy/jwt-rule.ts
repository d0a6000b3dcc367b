import type { AllowedRoute, Tenant } from '../tenants/tenant.model';

/**
 * SPEC §3: the route's setting, else the tenant's, else required whenever the tenant has an
 * identity provider (secure by default).
 */
export function jwtRequired(tenant: Tenant, route: AllowedRoute): boolean {
  return route.auth?.jwt ?? tenant.auth?.jwt ?? Boolean(tenant.idp);
}
