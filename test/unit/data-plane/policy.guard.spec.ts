import type { ExecutionContext } from '@nestjs/common';
import { loadConfig } from '../../../src/config/config.loader';
import { routeNotAllowed } from '../../../src/errors/gateway-error';
import { PolicyGuard } from '../../../src/data-plane/policy.guard';
import { Metrics } from '../../../src/observability/metrics';
import { PolicyPipeline } from '../../../src/policy/pipeline';
import type { PolicyStep } from '../../../src/policy/step';
import { RateLimitStep } from '../../../src/policy/steps/rate-limit/rate-limit.step';
import { RateLimiter } from '../../../src/policy/steps/rate-limit/rate-limiter';
import { MemoryStore } from '../../../src/store/memory/memory.store';
import type { Tenant } from '../../../src/tenants/tenant.model';
import { fakeRequest, type FakeRequest } from '../../support/fake-execution-context';
import { gatewayErrorOf } from '../../support/gateway-error';
import { RecordingResponse } from '../../support/recording-response';

const TENANT = { id: 'acme', upstreamBaseUrl: 'https://up.test', allowedRoutes: [{ path: '/' }], rateLimit: { windowSeconds: 60, maxRequests: 10 } } as Tenant;

/** Stands in for the path, key, route and JWT steps: the tenant is known, then it passes or refuses. */
const knownTenant = (refuse: boolean): PolicyStep => ({
  name: 'known',
  run(decision) {
    decision.tenant = TENANT;
    decision.tenantId = TENANT.id;
    if (refuse) throw routeNotAllowed('GET', '/x');
  },
  shows: () => ({}),
});

function setup(refuse: boolean) {
  const store = new MemoryStore();
  const limiter = new RateLimiter(store, loadConfig({ ADMIN_TOKEN: 'a-long-enough-admin-token' }), new Metrics());
  const guard = new PolicyGuard(new PolicyPipeline([knownTenant(refuse), new RateLimitStep(limiter)]));
  const req: FakeRequest = fakeRequest({ method: 'GET', headers: { 'x-api-key': 'k' }, originalUrl: '/api/x' });
  const res = new RecordingResponse();
  const http = { getRequest: () => req, getResponse: () => res.asServerResponse() };
  const context = { switchToHttp: () => http, getType: () => 'http' } as unknown as ExecutionContext;
  const level = () => Object.fromEntries(['ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset'].map((h) => [h, res.headers.get(h)]));
  return { store, guard, req, context, level };
}

describe('PolicyGuard', () => {
  it('takes the request through the pipeline, then puts the bucket level on the response', async () => {
    const { guard, context, level, req, store } = setup(false);
    // Tenant and key cached, the embedded store's bucket in this process: decided without a promise.
    expect(guard.canActivate(context)).toBe(true);
    expect(level()).toEqual({ 'ratelimit-limit': '10', 'ratelimit-remaining': '9', 'ratelimit-reset': '6' });
    expect(req.ctx).toMatchObject({ method: 'GET', tenantId: 'acme', rateLimit: { allowed: true } });
    expect((await store.takeToken('acme', 10, 60, 0)).remaining).toBe(9);
  });

  it('gives a refusal of a known tenant its bucket level, without taking a token', async () => {
    const { guard, context, level, store } = setup(true);
    const err = await gatewayErrorOf(() => guard.canActivate(context));
    expect(err.code).toBe('route_not_allowed');
    expect(level()).toEqual({ 'ratelimit-limit': '10', 'ratelimit-remaining': '10', 'ratelimit-reset': '0' });
    expect((await store.takeToken('acme', 10, 60, 0)).remaining).toBe(10);
  });

  it('answers 429 with the level the bucket decided on', async () => {
    const { guard, context, level, store } = setup(false);
    for (let i = 0; i < 10; i++) await store.takeToken('acme', 10, 60, 1);
    const err = await gatewayErrorOf(() => guard.canActivate(context));
    expect([err.status, err.code]).toEqual([429, 'rate_limited']);
    expect(level()).toEqual({ 'ratelimit-limit': '10', 'ratelimit-remaining': '0', 'ratelimit-reset': '60' });
  });
});
