import { SetMetadata } from '@nestjs/common';

/**
 * SPEC §12 in one place: which admin route a tenant-scoped token of each role may use. The operator's
 * token may use every route; a route not listed for a role is 403 forbidden for it, whatever tenant it
 * names. Each handler names its route with @AdminRoute, so a handler missing from this table does not
 * compile, and the guard refuses any handler that names none.
 */
export const ADMIN_RIGHTS = {
  'GET /admin/health': [],
  'GET /admin/routes': ['viewer', 'admin'],
  'GET /admin/tenants': ['viewer', 'admin'],
  'POST /admin/tenants': [],
  'GET /admin/tenants/:id': ['viewer', 'admin'],
  'PUT /admin/tenants/:id': [],
  'PATCH /admin/tenants/:id': [],
  'DELETE /admin/tenants/:id': [],
  'POST /admin/tenants/:id/keys': ['admin'],
  'GET /admin/tenants/:id/keys': ['viewer', 'admin'],
  'PATCH /admin/tenants/:id/keys/:keyId': ['admin'],
  'DELETE /admin/tenants/:id/keys/:keyId': ['admin'],
  'POST /admin/tenants/:id/tokens': [],
  'GET /admin/tenants/:id/tokens': ['admin'],
  'DELETE /admin/tenants/:id/tokens/:tokenId': [],
  'POST /admin/explain': ['viewer', 'admin'],
  'GET /admin/audit': ['viewer', 'admin'],
  'GET /admin/audit/verify': [],
  'GET /admin/openapi.json': ['viewer', 'admin'],
  'GET /metrics': [],
} as const satisfies Record<string, readonly ('admin' | 'viewer')[]>;

export type AdminRouteKey = keyof typeof ADMIN_RIGHTS;

export const ADMIN_ROUTE = Symbol('ADMIN_ROUTE');

/** Names the handler's route in ADMIN_RIGHTS. */
export const AdminRoute = (route: AdminRouteKey): MethodDecorator => SetMetadata(ADMIN_ROUTE, route);

/** May a tenant token of `role` use `route`? */
export function roleMay(route: AdminRouteKey, role: 'admin' | 'viewer'): boolean {
  return (ADMIN_RIGHTS[route] as readonly string[]).includes(role);
}

/** The route's path as a pattern: `:param` is one segment; a trailing `/` is ignored, as Express does. */
function pattern(path: string): RegExp {
  return new RegExp(`^${path.replace(/:[A-Za-z]+/g, '[^/]+')}/?$`);
}

const PATTERNS: readonly { pattern: RegExp; method: string }[] = (Object.keys(ADMIN_RIGHTS) as AdminRouteKey[]).map((route) => {
  const [method, path] = route.split(' ');
  return { pattern: pattern(path), method };
});

/**
 * SPEC §17: the methods a known admin path serves (GET implies HEAD), for 405's `Allow`; null for a
 * path that is not an admin route at all (404).
 */
export function allowedMethods(path: string): string[] | null {
  const methods = PATTERNS.filter((p) => p.pattern.test(path)).map((p) => p.method);
  if (methods.length === 0) return null;
  if (methods.includes('GET')) methods.push('HEAD');
  return [...new Set(methods)];
}
