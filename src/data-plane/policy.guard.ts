import type { IncomingMessage, ServerResponse } from 'node:http';
import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { PolicyPipeline } from '../policy/pipeline';
import { applyRateLimitHeaders } from '../policy/steps/rate-limit/rate-limit-headers';
import { apiContextOf, type ApiContext } from './api-context';

/**
 * The data plane's guard: the request's decision taken through the policy pipeline (SPEC §5 steps
 * 1-5). Whatever the outcome, once the bucket level is known its RateLimit-* headers are on the
 * response, so the proxied answer and every refusal after the API key carry them.
 */
@Injectable()
export class PolicyGuard implements CanActivate {
  constructor(@Inject(PolicyPipeline) private readonly pipeline: PolicyPipeline) {}

  canActivate(context: ExecutionContext): true | Promise<true> {
    const http = context.switchToHttp();
    const req = http.getRequest<IncomingMessage>();
    const res = http.getResponse<ServerResponse>();
    const ctx = apiContextOf(req);
    ctx.method = req.method ?? 'GET';
    ctx.headers = req.headers;
    let pending: void | Promise<void>;
    try {
      pending = this.pipeline.run(ctx, 'take');
    } catch (err) {
      return this.refused(ctx, res, err);
    }
    if (pending === undefined) return this.passed(ctx, res);
    return pending.then(
      () => this.passed(ctx, res),
      (err: unknown) => this.refused(ctx, res, err),
    );
  }

  private passed(ctx: ApiContext, res: ServerResponse): true {
    if (ctx.rateLimit !== undefined) applyRateLimitHeaders(res, ctx.rateLimit);
    return true;
  }

  private async refused(ctx: ApiContext, res: ServerResponse, err: unknown): Promise<never> {
    await this.pipeline.afterRefusal(ctx);
    if (ctx.rateLimit !== undefined && !res.headersSent) applyRateLimitHeaders(res, ctx.rateLimit);
    throw err;
  }
}
