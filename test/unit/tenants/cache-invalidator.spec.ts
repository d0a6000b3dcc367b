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
  override async publishInvalidation(msg: Invalidation): Promise<void> {
    this.attempts++;
    if (this.failPublish) throw new StoreUnavailableError('redis unavailable: connection closed');
    return super.publishInvalidation(msg);
  }
}

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
  return { store, resolver, seen, lines, invalidator: new CacheInvalidator(store, resolver, logger, { tenantCacheTtlMs }) };
}

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
    invalidator.onApplicationShutdown();
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
    invalidator.onApplicationShutdown();
  });

  it('widens several failed changes to one message for everything', async () => {
    const { store, seen, invalidator } = setup();
    store.failPublish = true;
    await invalidator.changed({ tenantId: 'acme' });
    await invalidator.changed({ tenantId: 'globex' });
    store.failPublish = false;
    await waitFor(async () => seen.length === 3, 3000, 'the retried message', 20);
    expect(seen.at(-1)).toEqual({ all: true });
    invalidator.onApplicationShutdown();
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
    invalidator.onApplicationShutdown();
  });
});
