import { capturedLogger } from '../../support/captured-logger';
import { waitFor } from '../../support/redis-server';
import { MemoryStore } from '../../../src/store/memory/memory.store';
import { StoreUnavailableError, type Invalidation } from '../../../src/store/store.port';
import { CacheInvalidator } from '../../../src/tenants/cache-invalidator';
import { TenantResolver } from '../../../src/tenants/tenant-resolver';
import { TenantRepository } from '../../../src/tenants/tenant.repository';

/** The embedded store whose publishing can be made to fail, as Redis does when it cannot answer. */
class Store extends MemoryStore {
  failPublish = false;
  attempts = 0;
  /** While set, each publish waits in `held` until the test settles it. */
  hold = false;
  readonly held: { resolve: () => void; reject: (err: Error) => void }[] = [];
  override async publishInvalidation(msg: Invalidation): Promise<void> {
    this.attempts++;
    if (this.hold) await new Promise<void>((resolve, reject) => this.held.push({ resolve, reject }));
    if (this.failPublish) throw new StoreUnavailableError('redis unavailable: connection closed');
    return super.publishInvalidation(msg);
  }
}

/** Every invalidator setup() made, shut down after each test so no retry timer outlives it. */
const invalidators: CacheInvalidator[] = [];

function setup(tenantCacheTtlMs = 60_000) {
  const { logger, lines } = capturedLogger();
  const store = new Store();
  const resolver = new TenantResolver(store, new TenantRepository(store, logger, { jwksAllowHttp: false }), logger, { ttlMs: 60_000 });
  const seen: Invalidation[] = [];
  const original = resolver.invalidate.bind(resolver);
  resolver.invalidate = (msg) => {
    seen.push(msg);
    original(msg);
  };
  const invalidator = new CacheInvalidator(store, resolver, logger, { tenantCacheTtlMs });
  invalidators.push(invalidator);
  return { store, resolver, seen, lines, invalidator };
}

afterEach(() => {
  for (const invalidator of invalidators.splice(0)) invalidator.onApplicationShutdown();
  jest.useRealTimers();
});

describe('CacheInvalidator', () => {
  it('applies a change locally and publishes it; what any replica publishes reaches the resolver', async () => {
    const { store, seen, invalidator } = setup();
    await invalidator.changed({ tenantId: 'acme' });
    // Once applied at once, once more when its own message comes back (harmless).
    expect(seen).toEqual([{ tenantId: 'acme' }, { tenantId: 'acme' }]);
    await store.publishInvalidation({ all: true });
    expect(seen.at(-1)).toEqual({ all: true });
  });

  it('a failed publish does not fail the change: applied locally, logged as a system warning', async () => {
    const { store, resolver, seen, lines, invalidator } = setup();
    await store.putTenant('acme', JSON.stringify({ id: 'acme', name: 'Before', upstreamBaseUrl: 'http://127.0.0.1:9', allowedRoutes: [] }));
    await resolver.resolveTenant('acme');
    await store.putTenant('acme', JSON.stringify({ id: 'acme', name: 'After', upstreamBaseUrl: 'http://127.0.0.1:9', allowedRoutes: [] }));
    store.failPublish = true;

    await expect(invalidator.changed({ tenantId: 'acme' })).resolves.toBeUndefined();
    expect(seen).toEqual([{ tenantId: 'acme' }]);
    expect((await resolver.resolveTenant('acme'))?.tenant.name).toBe('After');
    expect(lines).toEqual([expect.objectContaining({ level: 'warn', category: 'system', tenantId: 'acme' })]);
    expect(String(lines[0].error)).toContain('redis unavailable');
  });

  it('publishes a change that failed to go out once the store answers again', async () => {
    const { store, seen, invalidator } = setup();
    store.failPublish = true;
    await invalidator.changed({ tenantId: 'acme' });
    expect(seen).toEqual([{ tenantId: 'acme' }]);
    store.failPublish = false;
    await waitFor(async () => seen.length === 2, 3000, 'the retried message', 20);
    // The other replicas (here: this store's listeners) got exactly the change.
    expect(seen).toEqual([{ tenantId: 'acme' }, { tenantId: 'acme' }]);
  });

  it('widens several failed changes to one message for everything', async () => {
    const { store, seen, invalidator } = setup();
    store.failPublish = true;
    await invalidator.changed({ tenantId: 'acme' });
    await invalidator.changed({ tenantId: 'globex' });
    store.failPublish = false;
    await waitFor(async () => seen.length === 3, 3000, 'the retried message', 20);
    expect(seen.at(-1)).toEqual({ all: true });
  });

  it('stops retrying once TENANT_CACHE_TTL_MS has passed: the other replicas have reloaded by then', async () => {
    const { store, invalidator } = setup(400);
    store.failPublish = true;
    await invalidator.changed({ tenantId: 'acme' });
    await new Promise((r) => setTimeout(r, 1200));
    const settled = store.attempts;
    expect(settled).toBeGreaterThan(1);
    await new Promise((r) => setTimeout(r, 600));
    expect(store.attempts).toBe(settled);
  });

  it('keeps a single retry going when a change fails while a retry is being published', async () => {
    jest.useFakeTimers();
    const { store, invalidator } = setup();
    store.failPublish = true;
    await invalidator.changed({ tenantId: 'acme' });
    store.hold = true;
    await jest.advanceTimersByTimeAsync(250);
    // The retry's publish is under way; a second change fails meanwhile and asks for a retry too.
    expect([store.attempts, store.held.length]).toEqual([2, 1]);
    const changing = invalidator.changed({ tenantId: 'globex' });
    expect([store.attempts, store.held.length]).toEqual([3, 2]);
    store.held[1].reject(new StoreUnavailableError('redis unavailable: connection closed'));
    await changing;
    store.held[0].reject(new StoreUnavailableError('redis unavailable: connection closed'));
    store.hold = false;
    await jest.advanceTimersByTimeAsync(0);

    // One attempt per retry interval, not one per chain.
    for (let interval = 1; interval <= 4; interval++) {
      await jest.advanceTimersByTimeAsync(250);
      expect({ interval, attempts: store.attempts }).toEqual({ interval, attempts: 3 + interval });
    }
  });
});
