import { createHash, timingSafeEqual } from 'node:crypto';
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

  canActivate(context: ExecutionContext): boolean {
    const token = context.switchToHttp().getRequest<import('node:http').IncomingMessage>().headers['x-admin-token'];
    if (typeof token !== 'string' || !timingSafeEqual(digest(token), this.expected)) throw invalidAdminToken();
    return true;
  }
}
