import { capturedLogger } from '../../support/captured-logger';
import { MemoryStore } from '../../../src/store/memory/memory.store';
import { StoreUnavailableError, type Invalidation } from '../../../src/store/store.port';
import { CacheInvalidator } from '../../../src/tenants/cache-invalidator';
import { TenantResolver } from '../../../src/tenants/tenant-resolver';
import { TenantRepository } from '../../../src/tenants/tenant.repository';

/** The embedded store whose publishing can be made to fail, as Redis does when it cannot answer. */
class Store extends MemoryStore {
  failPublish = false;
  override async publishInvalidation(msg: Invalidation): Promise<void> {
    if (this.failPublish) throw new StoreUnavailableError('redis unavailable: connection closed');
    return super.publishInvalidation(msg);
  }
}

function setup() {
  const { logger, lines } = capturedLogger();
  const store = new Store();
  const resolver = new TenantResolver(store, new TenantRepository(store, logger, { jwksAllowHttp: false }), logger, { ttlMs: 60_000 });
  const seen: Invalidation[] = [];
  const original = resolver.invalidate.bind(resolver);
  resolver.invalidate = (msg) => {
    seen.push(msg);
    original(msg);
  };
  return { store, resolver, seen, lines, invalidator: new CacheInvalidator(store, resolver, logger) };
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
  });
});
