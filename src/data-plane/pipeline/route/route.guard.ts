import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { routeNotAllowed } from '../../../errors/gateway-error';
import { contextOf } from '../../../observability/request-context';
import { matchRoute } from '../../../policy/steps/route/route-matcher';

/** Step 3: the normalized path and the method must match the tenant's allowlist (SPEC §3). */
@Injectable()
export class RouteGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<import('node:http').IncomingMessage>();
    const ctx = contextOf(req);
    const path = ctx.path!;
    const method = req.method ?? 'GET';
    const match = matchRoute(ctx.routes!, path, method);
    if (match.route === null || !match.methodAllowed) throw routeNotAllowed(method, path);
    ctx.route = match.route;
    return true;
  }
}
