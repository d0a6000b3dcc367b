import { loadConfig } from '../../../../../src/config/config.loader';
import { Metrics } from '../../../../../src/observability/metrics';
import { RateLimitStep } from '../../../../../src/policy/steps/rate-limit/rate-limit.step';
import { RateLimiter } from '../../../../../src/policy/steps/rate-limit/rate-limiter';
import { MemoryStore } from '../../../../../src/store/memory/memory.store';
import type { Tenant } from '../../../../../src/tenants/tenant.model';
import { decisionFor } from '../../../../support/decision';
import { gatewayErrorOf } from '../../../../support/gateway-error';

const TENANT: Tenant = {
  id: 'acme',
  upstreamBaseUrl: 'https://api.acme.internal',
  allowedRoutes: [{ path: '/' }],
  rateLimit: { windowSeconds: 60, maxRequests: 2 },
};

/** A decision past the JWT step. */
const decision = () => decisionFor({ tenant: TENANT, tenantId: TENANT.id, path: '/' });

describe('RateLimitStep', () => {
  const config = loadConfig({ ADMIN_TOKEN: 'x'.repeat(32) });
  let store: MemoryStore;
  let step: RateLimitStep;
  beforeEach(() => {
    store = new MemoryStore();
    step = new RateLimitStep(new RateLimiter(store, config, new Metrics()));
  });

  it('takes a token while tokens last, recording the level on the decision: at once, from the embedded store', () => {
    const d = decision();
    expect(step.run(d, 'take')).toBeUndefined();
    expect(d.rateLimit).toMatchObject({ allowed: true, limit: 2, remaining: 1, resetSeconds: 30 });
    const refused = decision();
    expect(step.run(decision(), 'take')).toBeUndefined();
    expect(() => step.run(refused, 'take')).toThrow(expect.objectContaining({ code: 'rate_limited' }));
  });

  it('waits for a store that answers asynchronously (one over the network), deciding the same', async () => {
    // The port without takeTokensNow, as RedisStore implements it; the buckets are the memory store's.
    const remote = Object.assign(Object.create(null) as object, {
      takeTokens: store.takeTokens.bind(store),
    }) as unknown as MemoryStore;
    const overNetwork = new RateLimitStep(new RateLimiter(remote, config, new Metrics()));
    const d = decision();
    const pending = overNetwork.run(d, 'take');
    expect(pending).toBeInstanceOf(Promise);
    await pending;
    expect(d.rateLimit).toMatchObject({ allowed: true, limit: 2, remaining: 1 });
    await overNetwork.run(decision(), 'take');
    expect((await gatewayErrorOf(() => overNetwork.run(decision(), 'take'))).code).toBe('rate_limited');
  });

  it('refuses an empty bucket with 429 rate_limited and Retry-After, recording the level', async () => {
    for (let i = 0; i < 2; i++) await step.run(decision(), 'take');
    const d = decision();
    const err = await gatewayErrorOf(() => step.run(d, 'take'));
    expect({ status: err.status, code: err.code, retryAfter: err.headers?.['Retry-After'] }).toEqual({
      status: 429,
      code: 'rate_limited',
      retryAfter: '30',
    });
    expect(d.rateLimit).toMatchObject({ allowed: false, remaining: 0, resetSeconds: 60 });
  });

  it('only looks in peek mode: any number of peeks leave the bucket full', async () => {
    for (let i = 0; i < 5; i++) await step.run(decision(), 'peek');
    const d = decision();
    await step.run(d, 'peek');
    expect(d.rateLimit).toMatchObject({ allowed: true, remaining: 2 });
    expect((await store.takeToken('acme', 2, 60, 0)).remaining).toBe(2);
  });

  it('after a refusal before the bucket, looks at it without taking a token', async () => {
    const d = decision();
    await step.afterRefusal(d);
    expect(d.rateLimit).toMatchObject({ limit: 2, remaining: 2, resetSeconds: 0 });
    expect((await store.takeToken('acme', 2, 60, 0)).remaining).toBe(2);
  });

  it('after a refusal, leaves alone a level the bucket already decided, and a request with no tenant', () => {
    const decided = decision();
    decided.rateLimit = {
      allowed: false,
      limit: 2,
      remaining: 0,
      resetSeconds: 60,
      retryAfterSeconds: 30,
      storeFailed: false,
      bucket: 'tenant',
      levels: null,
    };
    expect(step.afterRefusal(decided)).toBeUndefined();
    expect(step.afterRefusal(decisionFor())).toBeUndefined();
  });

  it('shows the level to explain, and the wait when it refused', async () => {
    for (let i = 0; i < 2; i++) await step.run(decision(), 'take');
    const d = decision();
    await gatewayErrorOf(() => step.run(d, 'peek'));
    expect(step.showsRefusal(d)).toEqual({ limit: 2, remaining: 0, resetSeconds: 60, retryAfterSeconds: 30 });
  });

  it("takes from the key's own bucket too and shows both to explain", async () => {
    const d = decision();
    d.key = { keyId: 'key_1', disabled: false, rateLimit: { windowSeconds: 60, maxRequests: 1 } };
    await step.run(d, 'take');
    const again = decision();
    again.key = d.key;
    const err = await gatewayErrorOf(() => step.run(again, 'take'));
    expect(err.code).toBe('rate_limited');
    expect(step.showsRefusal(again)).toEqual({
      limit: 1,
      remaining: 0,
      resetSeconds: 60,
      retryAfterSeconds: 60,
      bucket: 'key',
      tenantBucket: { limit: 2, remaining: 1, resetSeconds: 30 },
      keyBucket: { limit: 1, remaining: 0, resetSeconds: 60 },
    });
  });
});
