import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { invalidApiKey, missingApiKey, tenantDisabled } from '../../../errors/gateway-error';
import { contextOf } from '../../../observability/request-context';
import { TenantResolver } from '../../../tenants/tenant-resolver';

/** Step 2: X-API-Key -> SHA-256 -> tenant (cached); a disabled tenant is a 403. */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(@Inject(TenantResolver) private readonly resolver: TenantResolver) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<import('node:http').IncomingMessage>();
    const ctx = contextOf(req);
    const apiKey = req.headers['x-api-key'];
    if (typeof apiKey !== 'string' || apiKey === '') throw missingApiKey();
    const resolved = await this.resolver.resolveApiKey(apiKey);
    if (resolved === null) throw invalidApiKey();
    ctx.tenant = resolved.tenant;
    ctx.routes = resolved.routes;
    if (resolved.tenant.disabled === true) throw tenantDisabled();
    return true;
  }
}
