import type { IncomingMessage } from 'node:http';
import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { forbidden, invalidAdminToken, tenantNotFound } from '../../errors/gateway-error';
import { AdminAuthenticator } from './admin-authenticator';
import { ADMIN_ROUTE, roleMay, type AdminRouteKey } from './admin-rights';
import { principalOf, setPrincipal, type Principal } from './principal';

/**
 * Every admin route: who is asking (the admin gate found out already; otherwise it is found out here,
 * so a route never depends on the gate being mounted), then what that principal may do, from
 * ADMIN_RIGHTS. A tenant token outside its role's routes is 403 forbidden; on a route it may use, a
 * `:id` naming another tenant is 404 tenant_not_found, as if that tenant did not exist.
 */
@Injectable()
export class AdminGuard implements CanActivate {
  constructor(
    @Inject(AdminAuthenticator) private readonly authenticator: AdminAuthenticator,
    @Inject(Reflector) private readonly reflector: Reflector,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<IncomingMessage & { params?: Record<string, string> }>();
    const route = this.reflector.get<AdminRouteKey | undefined>(ADMIN_ROUTE, context.getHandler());
    let principal = principalOf(req);
    if (principal === undefined) {
      const found = await this.authenticator.authenticate(req, route === 'GET /metrics');
      if (found === null) throw invalidAdminToken();
      principal = found;
      setPrincipal(req, principal);
    }
    authorize(principal, route, req.params?.id);
    return true;
  }
}

/** The rights table applied: throws the refusal, or returns when the principal may go on. */
export function authorize(principal: Principal, route: AdminRouteKey | undefined, tenantId: string | undefined): void {
  if (principal.kind === 'operator') return;
  if (principal.kind === 'metrics') {
    if (route === 'GET /metrics') return;
    throw forbidden();
  }
  if (route === undefined || !roleMay(route, principal.role)) throw forbidden();
  if (tenantId !== undefined && tenantId !== principal.tenantId) throw tenantNotFound(tenantId);
}
