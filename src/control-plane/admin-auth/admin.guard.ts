import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { GATEWAY_CONFIG, type GatewayConfig } from '../../config/config.types';
import { invalidAdminToken } from '../../errors/gateway-error';

const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

/** `X-Admin-Token` must equal ADMIN_TOKEN; compared in constant time over fixed-length digests. */
@Injectable()
export class AdminGuard implements CanActivate {
  private readonly expected: Buffer;

  constructor(@Inject(GATEWAY_CONFIG) config: GatewayConfig) {
    if (!config.adminToken) throw new Error('ADMIN_TOKEN must be resolved before the control plane starts');
    this.expected = digest(config.adminToken);
  }

  /** True when the request carries the admin token; also used to skip reading bodies of refused requests. */
  accepts(req: IncomingMessage): boolean {
    const token = req.headers['x-admin-token'];
    return typeof token === 'string' && timingSafeEqual(digest(token), this.expected);
  }

  canActivate(context: ExecutionContext): boolean {
    if (!this.accepts(context.switchToHttp().getRequest<IncomingMessage>())) throw invalidAdminToken();
    return true;
  }
}
