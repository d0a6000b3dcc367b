import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { contextOf } from '../../../observability/request-context';
import { applyRateLimitHeaders } from '../../../policy/steps/rate-limit/rate-limit-headers';
import { denialOf, RateLimiter } from '../../../policy/steps/rate-limit/rate-limiter';

/**
 * Step 5: one token from the tenant's bucket (one store round trip). The RateLimit-* headers are set
 * here, so every later answer carries them: the proxied response, a 429, a 413 or a 502.
 */
@Injectable()
export class RateLimitGuard implements CanActivate {
  constructor(@Inject(RateLimiter) private readonly limiter: RateLimiter) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const http = context.switchToHttp();
    const ctx = contextOf(http.getRequest<IncomingMessage>());
    const decision = await this.limiter.take(ctx.tenant!);
    ctx.rateLimit = decision;
    applyRateLimitHeaders(http.getResponse<ServerResponse>(), decision);
    const denial = denialOf(decision);
    if (denial !== null) throw denial;
    return true;
  }
}
