import { jwtRequirement, type JwtSource } from '../../policy/steps/route/jwt-rule';
import type { TenantListing } from '../tenants/tenant-admin.service';

/** One allowed route of one tenant, as the data plane enforces it. */
export interface RouteView {
  tenantId: string;
  /** A disabled tenant's routes are listed but answer 403 tenant_disabled. */
  tenantDisabled: boolean;
  path: string;
  /** null: every method. */
  methods: string[] | null;
  jwtRequired: boolean;
  jwtSource: JwtSource;
}

export interface RouteListing {
  routes: RouteView[];
  invalidTenants: TenantListing['invalidTenants'];
}

/** Every tenant's routes, tenants in id order and routes as declared; invalid tenants apart (they serve nothing). */
export function listRoutes(listing: TenantListing): RouteListing {
  const routes = listing.tenants.flatMap((tenant) =>
    tenant.allowedRoutes.map((route): RouteView => {
      const jwt = jwtRequirement(tenant, route);
      return {
        tenantId: tenant.id,
        tenantDisabled: tenant.disabled === true,
        path: route.path,
        methods: route.methods ?? null,
        jwtRequired: jwt.required,
        jwtSource: jwt.source,
      };
    }),
  );
  return { routes, invalidTenants: listing.invalidTenants };
}
