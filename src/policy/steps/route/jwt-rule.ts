import type { AllowedRoute, Tenant } from '../../../tenants/tenant.model';

/** Which setting decided the requirement: the route's, the tenant's, the presence of an idp, or the default. */
export type JwtSource = 'route' | 'tenant' | 'idp' | 'default';

export interface JwtRequirement {
  readonly required: boolean;
  readonly source: JwtSource;
}

/** The six possible answers, built once: the hot path asks on every request and allocates nothing. */
const ANSWERS = {
  routeOn: Object.freeze({ required: true, source: 'route' }),
  routeOff: Object.freeze({ required: false, source: 'route' }),
  tenantOn: Object.freeze({ required: true, source: 'tenant' }),
  tenantOff: Object.freeze({ required: false, source: 'tenant' }),
  idp: Object.freeze({ required: true, source: 'idp' }),
  none: Object.freeze({ required: false, source: 'default' }),
} as const satisfies Record<string, JwtRequirement>;

/**
 * SPEC §3, stated once: the route's setting, else the tenant's, else required whenever the tenant
 * has an identity provider (secure by default); with the setting that decided it.
 */
export function jwtRequirement(tenant: Tenant, route: AllowedRoute): JwtRequirement {
  const onRoute = route.auth?.jwt;
  if (onRoute !== undefined) return onRoute ? ANSWERS.routeOn : ANSWERS.routeOff;
  const onTenant = tenant.auth?.jwt;
  if (onTenant !== undefined) return onTenant ? ANSWERS.tenantOn : ANSWERS.tenantOff;
  return tenant.idp ? ANSWERS.idp : ANSWERS.none;
}
