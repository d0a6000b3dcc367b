import { Injectable } from '@nestjs/common';
import { badPath, routeNotAllowed, type GatewayError } from '../../../errors/gateway-error';
import type { Tenant } from '../../../tenants/tenant.model';
import type { Decision } from '../../decision';
import type { PolicyStep } from '../../step';
import { jwtRequirement } from './jwt-rule';
import { routePathOf } from './path-parameters';
import { compileRoutes, otherRouteByReading, matchRoute, type CompiledRoutes } from './route-matcher';

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

/**
 * Step 3: the normalized path and the method must match the tenant's allowlist (SPEC §3). It starts
 * with the path rules of SPEC §18 that need the tenant, right after the API key: `;` parameters
 * (refused, or removed for matching under `pathParameters`), then, once a route matched, a path that
 * a case-insensitive or NFKC-folding upstream would serve from another route (a longer one, or one
 * that differs only by case) is refused.
 */
@Injectable()
export class RouteStep implements PolicyStep {
  readonly name = 'route';

  run(decision: Decision): void {
    const tenant = decision.tenant!;
    const routePath = routePathOf(decision.path!, tenant.pathParameters === true);
    decision.routePath = routePath;
    const routes = routesOf(tenant);
    const match = matchRoute(routes, routePath, decision.method);
    if (match.route === null) throw routeNotAllowed(decision.method, decision.path!);
    const other = otherRouteByReading(routes, routePath, match.route);
    if (other !== null) {
      throw badPath(
        `The path matches route ${match.route.path} as written but route ${other.path} when read case-insensitively or after Unicode normalization.`,
      );
    }
    if (!match.methodAllowed) throw routeNotAllowed(decision.method, decision.path!);
    decision.route = match.route;
    decision.jwt = jwtRequirement(tenant, match.route);
  }

  shows(decision: Decision): Record<string, unknown> {
    const route = decision.route!;
    return {
      route: route.path,
      ...(decision.routePath !== decision.path && { matchedAs: decision.routePath }),
      methods: route.methods ?? null,
      jwtRequired: decision.jwt!.required,
      jwtSource: decision.jwt!.source,
    };
  }

  /** A route that covers the path but not the method is named: the fix is in its `methods`. */
  showsRefusal(decision: Decision, error: GatewayError): Record<string, unknown> {
    if (error.code !== 'route_not_allowed') return {};
    const { route } = matchRoute(routesOf(decision.tenant!), decision.routePath!, decision.method);
    return route === null ? {} : { route: route.path, methodAllowed: false };
  }
}
