import { loadConfig } from '../../../../../src/config/config.loader';
import { Metrics } from '../../../../../src/observability/metrics';
import { applyRateLimitHeaders } from '../../../../../src/policy/steps/rate-limit/rate-limit-headers';
import { denialOf, RateLimiter } from '../../../../../src/policy/steps/rate-limit/rate-limiter';
import { MemoryStore } from '../../../../../src/store/memory/memory.store';
import { BUCKET_BUDGET_MS, StoreUnavailableError, type BucketPair, type StateStore } from '../../../../../src/store/store.port';
import { within } from '../../../../../src/store/within';
import type { Tenant } from '../../../../../src/tenants/tenant.model';

const tenant = (rateLimit?: Tenant['rateLimit']): Tenant => ({
  id: `t-${Math.random().toString(36).slice(2)}`,
  upstreamBaseUrl: 'http://127.0.0.1:9',
  allowedRoutes: [{ path: '/' }],
  ...(rateLimit && { rateLimit }),
});

/** The embedded store, with takeTokens replaced: for the store failures a real store cannot be made to have on cue. */
function storeWhoseBucket(takeTokens: () => Promise<BucketPair>): StateStore {
  const store = new MemoryStore();
  store.takeTokens = takeTokens;
  return store;
}

function limiter(store: StateStore, mode: 'open' | 'closed' = 'open'): { limiter: RateLimiter; metrics: Metrics } {
  const metrics = new Metrics();
  const config = loadConfig({ ADMIN_TOKEN: 'x'.repeat(32), RATE_LIMIT_FAILURE_MODE: mode });
  return { limiter: new RateLimiter(store, config, metrics), metrics };
}

async function storeErrors(metrics: Metrics): Promise<number> {
  const metric = await metrics.internalErrors.get();
  return metric.values.find((v) => v.labels.type === 'rate_limit_store')?.value ?? 0;
}

const unavailable = () => Promise.reject(new StoreUnavailableError('redis unavailable: connection closed'));

describe('RateLimiter', () => {
  it('applies the SPEC default of 100 requests per 60 s to a tenant without rateLimit', async () => {
    const { limiter: rl } = limiter(new MemoryStore());
    await expect(rl.take(tenant())).resolves.toEqual({
      allowed: true,
      limit: 100,
      remaining: 99,
      resetSeconds: 1,
      retryAfterSeconds: 0,
      storeFailed: false,
      bucket: 'tenant',
      levels: null,
    });
  });

  it("takes from the tenant's own policy, and peek takes nothing", async () => {
    const { limiter: rl } = limiter(new MemoryStore());
    const t = tenant({ windowSeconds: 3600, maxRequests: 2 });
    await expect(rl.take(t)).resolves.toMatchObject({ allowed: true, limit: 2, remaining: 1 });
    await expect(rl.peek(t)).resolves.toMatchObject({ allowed: true, remaining: 1 });
    await expect(rl.take(t)).resolves.toMatchObject({ allowed: true, remaining: 0 });
    const refused = await rl.take(t);
    expect(refused).toMatchObject({ allowed: false, remaining: 0, retryAfterSeconds: 1800, storeFailed: false });
    const denial = denialOf(refused);
    expect(denial).toMatchObject({ status: 429, code: 'rate_limited', headers: { 'Retry-After': '1800' } });
  });

  describe('a key with a limit of its own (SPEC §13)', () => {
    const key = (maxRequests: number, windowSeconds = 60) => ({ keyId: `key_${Math.random().toString(36).slice(2)}`, disabled: false, rateLimit: { windowSeconds, maxRequests } });

    it('takes from both buckets and reports the one with fewer tokens left, the key on a tie', async () => {
      const { limiter: rl } = limiter(new MemoryStore());
      const t = tenant({ windowSeconds: 60, maxRequests: 6 });
      const k = key(3);
      await expect(rl.take(t, k)).resolves.toMatchObject({
        allowed: true,
        bucket: 'key',
        limit: 3,
        remaining: 2,
        levels: { tenant: { limit: 6, remaining: 5 }, key: { limit: 3, remaining: 2 } },
      });
      // Another key of the same tenant drains the tenant's bucket below this key's level.
      const big = key(100);
      for (let i = 0; i < 4; i++) await rl.take(t, big);
      await expect(rl.peek(t, k)).resolves.toMatchObject({ bucket: 'tenant', limit: 6, remaining: 1 });
      const tie = tenant({ windowSeconds: 60, maxRequests: 3 });
      await expect(rl.take(tie, key(3))).resolves.toMatchObject({ bucket: 'key', remaining: 2 });
    });

    it("refuses when the key's bucket is empty, taking nothing from the tenant's", async () => {
      const { limiter: rl } = limiter(new MemoryStore());
      const t = tenant({ windowSeconds: 60, maxRequests: 10 });
      const k = key(1, 120);
      await rl.take(t, k);
      const refused = await rl.take(t, k);
      expect(refused).toMatchObject({ allowed: false, bucket: 'key', remaining: 0, retryAfterSeconds: 120 });
      expect(denialOf(refused)).toMatchObject({ code: 'rate_limited', headers: { 'Retry-After': '120' } });
      expect(denialOf(refused)?.detail).toContain('API key');
      await expect(rl.peek(t)).resolves.toMatchObject({ remaining: 9 });
    });

    it('waits until both admit: Retry-After is the longer of the two waits', async () => {
      const { limiter: rl } = limiter(new MemoryStore());
      const t = tenant({ windowSeconds: 30, maxRequests: 1 });
      const k = key(1, 90);
      await rl.take(t, k);
      await expect(rl.take(t, k)).resolves.toMatchObject({ allowed: false, retryAfterSeconds: 90 });
      const other = key(5);
      // Only the tenant's bucket is empty for this key: its wait is the tenant's.
      await expect(rl.take(t, other)).resolves.toMatchObject({ allowed: false, retryAfterSeconds: 30, bucket: 'tenant' });
    });

    it('reports the key limit alone when the store cannot answer', async () => {
      const { limiter: rl } = limiter(storeWhoseBucket(unavailable), 'open');
      await expect(rl.take(tenant(), key(4))).resolves.toMatchObject({ allowed: true, limit: 4, remaining: null, bucket: 'key' });
    });
  });

  it('open mode admits when the store is unavailable and counts each take', async () => {
    const { limiter: rl, metrics } = limiter(storeWhoseBucket(unavailable), 'open');
    const t = tenant({ windowSeconds: 60, maxRequests: 7 });
    const decision = await rl.take(t);
    expect(decision).toEqual({
      allowed: true,
      limit: 7,
      remaining: null,
      resetSeconds: null,
      retryAfterSeconds: 0,
      storeFailed: true,
      bucket: 'tenant',
      levels: null,
    });
    expect(denialOf(decision)).toBeNull();
    await rl.take(t);
    await rl.peek(t);
    expect(await storeErrors(metrics)).toBe(2);
  });

  it('closed mode refuses with 503 state_unavailable when the store is unavailable', async () => {
    const { limiter: rl, metrics } = limiter(storeWhoseBucket(unavailable), 'closed');
    const decision = await rl.take(tenant());
    expect(decision).toMatchObject({ allowed: false, storeFailed: true, limit: 100 });
    expect(denialOf(decision)).toMatchObject({ status: 503, code: 'state_unavailable' });
    expect(await storeErrors(metrics)).toBe(1);
  });

  it('lets any other store error through (a fault, not an outage)', async () => {
    const { limiter: rl } = limiter(storeWhoseBucket(() => Promise.reject(new Error('ERR bad script'))));
    await expect(rl.take(tenant())).rejects.toThrow('ERR bad script');
  });

  describe('a store that does not answer', () => {
    afterEach(() => jest.useRealTimers());
    // A hung store, as the port bounds it: StoreUnavailableError once its budget has passed.
    const hanging = () => within(new Promise<BucketPair>(() => undefined), BUCKET_BUDGET_MS, 'bucket answer');

    it('counts as unavailable after the budget: open admits', async () => {
      jest.useFakeTimers();
      const { limiter: rl, metrics } = limiter(storeWhoseBucket(hanging), 'open');
      const pending = rl.take(tenant({ windowSeconds: 60, maxRequests: 3 }));
      jest.advanceTimersByTime(BUCKET_BUDGET_MS);
      await expect(pending).resolves.toMatchObject({ allowed: true, storeFailed: true, limit: 3, remaining: null });
      expect(await storeErrors(metrics)).toBe(1);
    });

    it('counts as unavailable after the budget: closed refuses', async () => {
      jest.useFakeTimers();
      const { limiter: rl } = limiter(storeWhoseBucket(hanging), 'closed');
      const pending = rl.take(tenant());
      jest.advanceTimersByTime(BUCKET_BUDGET_MS);
      await expect(pending).resolves.toMatchObject({ allowed: false, storeFailed: true });
    });
  });

  describe('peekOrLimit', () => {
    it('never rejects, whatever the store throws', async () => {
      const { limiter: rl } = limiter(storeWhoseBucket(() => Promise.reject(new Error('boom'))));
      await expect(rl.peekOrLimit(tenant())).resolves.toMatchObject({ limit: 100, remaining: null, resetSeconds: null });
    });

    it('passes the level through when the store answers', async () => {
      const { limiter: rl } = limiter(new MemoryStore());
      await expect(rl.peekOrLimit(tenant({ windowSeconds: 60, maxRequests: 3 }))).resolves.toMatchObject({
        allowed: true,
        limit: 3,
        remaining: 3,
        resetSeconds: 0,
      });
    });
  });
});

/** The headers applyRateLimitHeaders sets, as a record. */
function rateLimitHeaders(decision: Parameters<typeof applyRateLimitHeaders>[1]): Record<string, string> {
  const headers: Record<string, string> = {};
  applyRateLimitHeaders({ setHeader: (name: string, value: string) => (headers[name] = value) }, decision);
  return headers;
}

describe('applyRateLimitHeaders', () => {
  it('reports limit, remaining and seconds until full', () => {
    const decision = { allowed: true, limit: 50, remaining: 12, resetSeconds: 30, retryAfterSeconds: 0, storeFailed: false, bucket: 'tenant' as const, levels: null };
    expect(rateLimitHeaders(decision)).toEqual({ 'RateLimit-Limit': '50', 'RateLimit-Remaining': '12', 'RateLimit-Reset': '30' });
  });

  it('reports only the limit when the level is unknown', () => {
    const decision = { allowed: true, limit: 50, remaining: null, resetSeconds: null, retryAfterSeconds: 0, storeFailed: true, bucket: 'tenant' as const, levels: null };
    expect(rateLimitHeaders(decision)).toEqual({ 'RateLimit-Limit': '50' });
  });
});
