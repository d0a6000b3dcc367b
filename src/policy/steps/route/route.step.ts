import { Injectable } from '@nestjs/common';
import { badPath, routeNotAllowed, type GatewayError } from '../../../errors/gateway-error';
import type { Tenant } from '../../../tenants/tenant.model';
import type { Decision } from '../../decision';
import type { PolicyStep } from '../../step';
import { jwtRequirement } from './jwt-rule';
import { routePathOf } from './path-parameters';
import { compileRoutes, matchRoute, otherRouteByReading, type CompiledRoutes, type RouteMatch } from './route-matcher';

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

/** matchRoute, refusing a path that another reading would give to another route (SPEC §18). */
function matchUnambiguously(routes: CompiledRoutes, path: string, method: string): RouteMatch {
  const match = matchRoute(routes, path, method);
  if (match.route === null) return match;
  const other = otherRouteByReading(routes, path, match.route);
  if (other !== null) {
    throw badPath(
      `The path matches route ${match.route.path} as written but route ${other.path} when read case-insensitively or after Unicode normalization.`,
    );
  }
  return match;
}

/**
 * Step 3: the normalized path and the method must match the tenant's allowlist (SPEC §3). It starts
 * with the path rules of SPEC §18 that need the tenant, right after the API key: `;` parameters
 * (refused, or removed for matching under `pathParameters`, the route the path covers as written
 * then holding it to its rules too), then, once a route matched, a path that a case-insensitive or
 * NFKC-folding upstream would serve from another route (a longer one, or one that differs only by
 * case) is refused.
 */
@Injectable()
export class RouteStep implements PolicyStep {
  readonly name = 'route';

  run(decision: Decision): void {
    const tenant = decision.tenant!;
    const routes = routesOf(tenant);
    const path = decision.path!;
    const routePath = routePathOf(path, tenant.pathParameters === true);
    decision.routePath = routePath;
    const match = matchUnambiguously(routes, routePath, decision.method);
    if (match.route === null || !match.methodAllowed) throw routeNotAllowed(decision.method, path);
    let jwt = jwtRequirement(tenant, match.route);
    if (routePath !== path) {
      // Forwarded with its parameters: an upstream that keeps them reads the path as written, so the
      // route that covers it that way holds the request to its rules too.
      const literal = matchUnambiguously(routes, path, decision.method);
      if (literal.route !== null) {
        if (!literal.methodAllowed) throw routeNotAllowed(decision.method, path);
        const also = jwtRequirement(tenant, literal.route);
        if (also.required && !jwt.required) jwt = also;
      }
    }
    decision.route = match.route;
    decision.jwt = jwt;
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
    const routes = routesOf(decision.tenant!);
    for (const path of [decision.routePath!, decision.path!]) {
      const { route, methodAllowed } = matchRoute(routes, path, decision.method);
      if (route !== null && !methodAllowed) return { route: route.path, methodAllowed: false };
    }
    return {};
  }
}
