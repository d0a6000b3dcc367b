import type { ExecutionContext } from '@nestjs/common';
import { loadConfig } from '../../../../../src/config/config.loader';
import { RateLimitGuard } from '../../../../../src/data-plane/pipeline/rate-limit/rate-limit.guard';
import { Metrics } from '../../../../../src/observability/metrics';
import { RateLimiter } from '../../../../../src/policy/steps/rate-limit/rate-limiter';
import { MemoryStore } from '../../../../../src/store/memory/memory.store';
import type { Tenant } from '../../../../../src/tenants/tenant.model';
import { fakeRequest, type FakeRequest } from '../../../../support/fake-execution-context';
import { gatewayErrorOf } from '../../../../support/gateway-error';

const TENANT: Tenant = {
  id: 'acme',
  upstreamBaseUrl: 'https://api.acme.internal',
  allowedRoutes: [{ path: '/' }],
  rateLimit: { windowSeconds: 60, maxRequests: 2 },
};

/** A request past the JWT step, and a response that records the headers set on it. */
function exchange(): { req: FakeRequest; headers: Record<string, string>; context: ExecutionContext } {
  const req = fakeRequest({ ctx: { tenant: TENANT, path: '/' } });
  const headers: Record<string, string> = {};
  const res = { setHeader: (name: string, value: string) => (headers[name] = value) };
  const http = { getRequest: () => req, getResponse: () => res };
  const context = { switchToHttp: () => http, getType: () => 'http' } as unknown as ExecutionContext;
  return { req, headers, context };
}

describe('RateLimitGuard', () => {
  const config = loadConfig({ ADMIN_TOKEN: 'x'.repeat(32) });
  let guard: RateLimitGuard;
  beforeEach(() => (guard = new RateLimitGuard(new RateLimiter(new MemoryStore(), config, new Metrics()))));

  it('admits while tokens last, setting the headers and the decision on the context', async () => {
    const { req, headers, context } = exchange();
    await expect(guard.canActivate(context)).resolves.toBe(true);
    expect(headers).toEqual({ 'RateLimit-Limit': '2', 'RateLimit-Remaining': '1', 'RateLimit-Reset': '30' });
    expect(req.ctx.rateLimit).toMatchObject({ allowed: true, limit: 2, remaining: 1 });
  });

  it('refuses an empty bucket with 429 rate_limited, Retry-After and the headers', async () => {
    for (let i = 0; i < 2; i++) await guard.canActivate(exchange().context);
    const { req, headers, context } = exchange();
    const err = await gatewayErrorOf(() => guard.canActivate(context));
    expect({ status: err.status, code: err.code, retryAfter: err.headers?.['Retry-After'] }).toEqual({
      status: 429,
      code: 'rate_limited',
      retryAfter: '30',
    });
    expect(headers).toEqual({ 'RateLimit-Limit': '2', 'RateLimit-Remaining': '0', 'RateLimit-Reset': '60' });
    expect(req.ctx.rateLimit?.allowed).toBe(false);
  });
});
