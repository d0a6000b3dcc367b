import { Injectable } from '@nestjs/common';
import { routeNotAllowed } from '../../../errors/gateway-error';
import type { Tenant } from '../../../tenants/tenant.model';
import type { Decision } from '../../decision';
import type { PolicyStep } from '../../step';
import { jwtRequirement } from './jwt-rule';
import { compileRoutes, matchRoute, type CompiledRoutes } from './route-matcher';

/**
 * A tenant's allowlist compiled once per loaded tenant object: the resolver hands out the same object
 * until the tenant is read again, and a new object is compiled on first use.
 */
const compiled = new WeakMap<Tenant, CompiledRoutes>();

export function routesOf(tenant: Tenant): CompiledRoutes {
  let routes = compiled.get(tenant);
  if (routes === undefined) compiled.set(tenant, (routes = compileRoutes(tenant.allowedRoutes)));
  return routes;
}

/** Step 3: the normalized path and the method must match the tenant's allowlist (SPEC §3). */
@Injectable()
export class RouteStep implements PolicyStep {
  readonly name = 'route';

  run(decision: Decision): void {
    const tenant = decision.tenant!;
    const match = matchRoute(routesOf(tenant), decision.path!, decision.method);
    if (match.route === null || !match.methodAllowed) throw routeNotAllowed(decision.method, decision.path!);
    decision.route = match.route;
    decision.jwt = jwtRequirement(tenant, match.route);
  }

  shows(decision: Decision): Record<string, unknown> {
    const route = decision.route!;
    return { route: route.path, methods: route.methods ?? null, jwtRequired: decision.jwt!.required, jwtSource: decision.jwt!.source };
  }

  /** A route that covers the path but not the method is named: the fix is in its `methods`. */
  showsRefusal(decision: Decision): Record<string, unknown> {
    const { route } = matchRoute(routesOf(decision.tenant!), decision.path!, decision.method);
    return route === null ? {} : { route: route.path, methodAllowed: false };
  }
}
