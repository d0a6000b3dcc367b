import pino from 'pino';
import { matchRoute } from '../../../src/policy/route-matcher';
import { MemoryStore } from '../../../src/store/memory/memory.store';
import { StoreUnavailableError, type KeyLookup } from '../../../src/store/store.port';
import { hashApiKey } from '../../../src/tenants/api-key';
import { TenantResolver, type ResolverOptions } from '../../../src/tenants/tenant-resolver';
import { TenantRepository } from '../../../src/tenants/tenant.repository';
import { gatewayErrorOf } from '../../support/gateway-error';

const silent = pino({ level: 'silent' });
const TTL_MS = 1_000;

/**
 * The embedded store with a fault injector (`down` makes reads throw StoreUnavailableError, as the
 * Redis adapter does when Redis cannot answer) and a count of the reads the resolver makes.
 */
class FaultyStore extends MemoryStore {
  down = false;
  /** When set, reads throw this instead (an error the adapter did not classify). */
  unexpected: Error | null = null;
  reads = { lookupKey: 0, getTenant: 0 };
  /** When set, getTenant reads at once but answers only once this settles: a reply still on its way. */
  hold: Promise<void> | null = null;

  override async lookupKey(hash: string): Promise<KeyLookup | null> {
    this.reads.lookupKey++;
    if (this.unexpected) throw this.unexpected;
    if (this.down) throw new StoreUnavailableError();
    return super.lookupKey(hash);
  }

  override async getTenant(id: string): Promise<string | null> {
    this.reads.getTenant++;
    if (this.unexpected) throw this.unexpected;
    if (this.down) throw new StoreUnavailableError();
    const raw = await super.getTenant(id);
    if (this.hold) await this.hold;
    return raw;
  }

  resetReads(): void {
    this.reads = { lookupKey: 0, getTenant: 0 };
  }
}

let keySeq = 0;

function setup(options: Partial<ResolverOptions> = {}) {
  const store = new FaultyStore();
  const repository = new TenantRepository(store, silent, { jwksAllowHttp: false });
  const resolver = new TenantResolver(store, repository, silent, { ttlMs: TTL_MS, ...options });
  return { store, resolver };
}

function tenantJson(id: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    id,
    upstreamBaseUrl: `http://${id}.upstream.test:8080/base`,
    allowedRoutes: [{ path: '/v1/users', methods: ['GET'] }],
    ...extra,
  });
}

async function addTenant(store: MemoryStore, id: string, extra: Record<string, unknown> = {}): Promise<void> {
  await store.putTenant(id, tenantJson(id, extra));
}

/** Registers `apiKey` (by its hash) for the tenant; returns the key id. */
async function addKey(store: MemoryStore, tenantId: string, apiKey: string, expiresAtMs?: number): Promise<string> {
  const keyId = `key_${++keySeq}`;
  await store.addKey(tenantId, {
    keyId,
    hash: hashApiKey(apiKey),
    createdAt: new Date().toISOString(),
    expiresAt: expiresAtMs === undefined ? null : new Date(expiresAtMs).toISOString(),
  });
  return keyId;
}

beforeEach(() => {
  // Only Date is moved by these tests; the resolver sets no timers.
  jest.useFakeTimers({ now: new Date('2030-01-01T00:00:00.000Z') });
});

afterEach(() => {
  jest.useRealTimers();
});

const advance = (ms: number) => jest.setSystemTime(Date.now() + ms);

describe('TenantResolver', () => {
  describe('resolving a key', () => {
    it('resolves an API key to its validated tenant with compiled routes', async () => {
      const { store, resolver } = setup();
      await addTenant(store, 'acme', { name: 'ACME Corp' });
      await addKey(store, 'acme', 'acme-key');

      const served = await resolver.resolveApiKey('acme-key');

      expect(served).not.toBeNull();
      expect(served!.kind).toBe('ok');
      expect(served!.tenant).toMatchObject({ id: 'acme', name: 'ACME Corp', upstreamBaseUrl: 'http://acme.upstream.test:8080/base' });
      expect(matchRoute(served!.routes, '/v1/users/42', 'GET').route).toEqual({ path: '/v1/users', methods: ['GET'] });
    });

    it('resolves each key to its own tenant', async () => {
      const { store, resolver } = setup();
      await addTenant(store, 'acme');
      await addTenant(store, 'globex');
      await addKey(store, 'acme', 'acme-key');
      await addKey(store, 'globex', 'globex-key');

      expect((await resolver.resolveApiKey('acme-key'))?.tenant.id).toBe('acme');
      expect((await resolver.resolveApiKey('globex-key'))?.tenant.id).toBe('globex');
      expect((await resolver.resolveApiKey('acme-key'))?.tenant.id).toBe('acme');
    });

    it('answers null for an unknown key', async () => {
      const { store, resolver } = setup();
      await addTenant(store, 'acme');
      await addKey(store, 'acme', 'acme-key');

      await expect(resolver.resolveApiKey('acme-key-but-not-quite')).resolves.toBeNull();
    });

    it('answers null for a key whose tenant does not exist', async () => {
      const { store, resolver } = setup();
      await addKey(store, 'ghost', 'ghost-key');

      await expect(resolver.resolveApiKey('ghost-key')).resolves.toBeNull();
    });

    it('resolves a tenant by id, and null for an unknown id', async () => {
      const { store, resolver } = setup();
      await addTenant(store, 'acme');

      expect((await resolver.resolveTenant('acme'))?.tenant.id).toBe('acme');
      await expect(resolver.resolveTenant('nobody')).resolves.toBeNull();
    });
  });

  describe('caching', () => {
    it('serves a cached tenant without any store call', async () => {
      const { store, resolver } = setup();
      await addTenant(store, 'acme');
      await addKey(store, 'acme', 'acme-key');
      await resolver.resolveApiKey('acme-key');
      expect(store.reads).toEqual({ lookupKey: 1, getTenant: 1 });
      store.resetReads();

      advance(TTL_MS - 1);
      expect((await resolver.resolveApiKey('acme-key'))?.tenant.id).toBe('acme');
      expect((await resolver.resolveApiKey('acme-key'))?.tenant.id).toBe('acme');

      expect(store.reads).toEqual({ lookupKey: 0, getTenant: 0 });
    });

    it('reads the store again once the TTL has passed, and sees changes written straight into it', async () => {
      const { store, resolver } = setup();
      await addTenant(store, 'acme', { name: 'Before' });
      await addKey(store, 'acme', 'acme-key');
      await resolver.resolveApiKey('acme-key');
      await addTenant(store, 'acme', { name: 'After' });

      expect((await resolver.resolveApiKey('acme-key'))?.tenant.name).toBe('Before');
      store.resetReads();
      advance(TTL_MS);

      expect((await resolver.resolveApiKey('acme-key'))?.tenant.name).toBe('After');
      expect(store.reads).toEqual({ lookupKey: 1, getTenant: 1 });
    });

    it('caches an unknown key: a mapping written afterwards is not seen until the TTL passes', async () => {
      const { store, resolver } = setup();
      await addTenant(store, 'acme');
      await expect(resolver.resolveApiKey('late-key')).resolves.toBeNull();
      await addKey(store, 'acme', 'late-key');
      store.resetReads();

      advance(TTL_MS - 1);
      await expect(resolver.resolveApiKey('late-key')).resolves.toBeNull();
      expect(store.reads.lookupKey).toBe(0);

      advance(1);
      expect((await resolver.resolveApiKey('late-key'))?.tenant.id).toBe('acme');
      expect(store.reads.lookupKey).toBe(1);
    });

    it('never serves a key mapping past the key expiry, however long the TTL', async () => {
      const { store, resolver } = setup({ ttlMs: 3_600_000 });
      await addTenant(store, 'acme');
      await addKey(store, 'acme', 'short-lived', Date.now() + 50);

      expect((await resolver.resolveApiKey('short-lived'))?.tenant.id).toBe('acme');
      advance(49);
      expect((await resolver.resolveApiKey('short-lived'))?.tenant.id).toBe('acme');
      advance(1);
      await expect(resolver.resolveApiKey('short-lived')).resolves.toBeNull();
    });

    it('does not serve an expired key from the cache while the store is down', async () => {
      const { store, resolver } = setup({ ttlMs: 3_600_000 });
      await addTenant(store, 'acme');
      await addKey(store, 'acme', 'short-lived', Date.now() + 50);
      expect((await resolver.resolveApiKey('short-lived'))?.tenant.id).toBe('acme');

      advance(50);
      store.down = true;
      const err = await gatewayErrorOf(() => resolver.resolveApiKey('short-lived'));
      expect(err.status).toBe(503);
      expect(err.code).toBe('state_unavailable');
    });

    it('invalidateAll drops cached keys, unknown keys and tenants', async () => {
      const { store, resolver } = setup();
      await addTenant(store, 'acme', { name: 'Before' });
      const keyId = await addKey(store, 'acme', 'revoked-key');
      await addKey(store, 'acme', 'kept-key');
      await resolver.resolveApiKey('revoked-key');
      await resolver.resolveApiKey('kept-key');
      await expect(resolver.resolveApiKey('new-key')).resolves.toBeNull();

      await store.removeKey('acme', keyId);
      await addKey(store, 'acme', 'new-key');
      await addTenant(store, 'acme', { name: 'After' });
      // Still within the TTL: the caches answer.
      expect((await resolver.resolveApiKey('revoked-key'))?.tenant.id).toBe('acme');
      await expect(resolver.resolveApiKey('new-key')).resolves.toBeNull();

      resolver.invalidateAll();

      await expect(resolver.resolveApiKey('revoked-key')).resolves.toBeNull();
      expect((await resolver.resolveApiKey('new-key'))?.tenant.id).toBe('acme');
      expect((await resolver.resolveApiKey('kept-key'))?.tenant.name).toBe('After');
    });
  });

  describe('invalidating one tenant', () => {
    it("drops that tenant, the keys naming it and every unknown key, and keeps other tenants' answers", async () => {
      const { store, resolver } = setup();
      await addTenant(store, 'acme', { name: 'Before' });
      await addTenant(store, 'globex', { name: 'Globex before' });
      const revoked = await addKey(store, 'acme', 'acme-key');
      await addKey(store, 'globex', 'globex-key');
      await resolver.resolveApiKey('acme-key');
      await resolver.resolveApiKey('globex-key');
      await expect(resolver.resolveApiKey('new-key')).resolves.toBeNull();

      await store.removeKey('acme', revoked);
      await addTenant(store, 'acme', { name: 'After' });
      await addTenant(store, 'globex', { name: 'Globex after' });
      await addKey(store, 'globex', 'new-key');
      resolver.invalidate({ tenantId: 'acme' });

      await expect(resolver.resolveApiKey('acme-key')).resolves.toBeNull();
      expect((await resolver.resolveTenant('acme'))?.tenant.name).toBe('After');
      // A key created for any tenant may have been cached as unknown: the negative cache goes entirely.
      expect((await resolver.resolveApiKey('new-key'))?.tenant.id).toBe('globex');
      // Globex's own entry was not touched: still the cached answer within the TTL.
      expect((await resolver.resolveApiKey('globex-key'))?.tenant.name).toBe('Globex before');
    });

    it('{ all: true } drops everything', async () => {
      const { store, resolver } = setup();
      await addTenant(store, 'globex', { name: 'Before' });
      await addKey(store, 'globex', 'globex-key');
      await resolver.resolveApiKey('globex-key');
      await addTenant(store, 'globex', { name: 'After' });
      resolver.invalidate({ all: true });
      expect((await resolver.resolveApiKey('globex-key'))?.tenant.name).toBe('After');
    });

    it('does not cache an answer read before an invalidation that arrived while it was in flight', async () => {
      const { store, resolver } = setup();
      await addTenant(store, 'acme', { name: 'Before' });
      await addKey(store, 'acme', 'acme-key');
      // The read of the old state is in flight when the change and its invalidation happen.
      let release = (): void => undefined;
      store.hold = new Promise((resolve) => (release = resolve));
      const inFlight = resolver.resolveApiKey('acme-key');
      for (let i = 0; i < 20 && store.reads.getTenant === 0; i++) await Promise.resolve();
      expect(store.reads.getTenant).toBe(1);
      await addTenant(store, 'acme', { name: 'After' });
      resolver.invalidate({ tenantId: 'acme' });
      release();
      expect((await inFlight)?.tenant.name).toBe('Before');
      store.hold = null;
      store.resetReads();
      expect((await resolver.resolveApiKey('acme-key'))?.tenant.name).toBe('After');
      expect(store.reads).toEqual({ lookupKey: 1, getTenant: 1 });
    });
  });

  describe('bounds', () => {
    it('bounds the negative cache separately: a flood of unknown keys does not evict a good key', async () => {
      const { store, resolver } = setup({ maxKeys: 2, maxUnknownKeys: 2 });
      await addTenant(store, 'acme');
      await addKey(store, 'acme', 'good-key');
      await resolver.resolveApiKey('good-key');

      for (let i = 0; i < 20; i++) await expect(resolver.resolveApiKey(`unknown-${i}`)).resolves.toBeNull();
      store.resetReads();

      expect((await resolver.resolveApiKey('good-key'))?.tenant.id).toBe('acme');
      expect(store.reads.lookupKey).toBe(0);
    });

    it('bounds the negative cache: the least recently seen unknown key is evicted', async () => {
      const { store, resolver } = setup({ maxUnknownKeys: 2 });
      for (const key of ['unknown-a', 'unknown-b', 'unknown-c']) await resolver.resolveApiKey(key);
      store.resetReads();

      await resolver.resolveApiKey('unknown-c');
      expect(store.reads.lookupKey).toBe(0);
      await resolver.resolveApiKey('unknown-a');
      expect(store.reads.lookupKey).toBe(1);
    });

    it('bounds the key cache: beyond maxKeys the oldest mapping is read from the store again', async () => {
      const { store, resolver } = setup({ maxKeys: 2 });
      await addTenant(store, 'acme');
      for (const key of ['k1', 'k2', 'k3']) {
        await addKey(store, 'acme', key);
        await resolver.resolveApiKey(key);
      }
      store.resetReads();

      await resolver.resolveApiKey('k3');
      expect(store.reads.lookupKey).toBe(0);
      await resolver.resolveApiKey('k1');
      expect(store.reads.lookupKey).toBe(1);
    });
  });

  describe('a stored tenant that fails validation', () => {
    it.each([
      ['an unknown field', tenantJson('broken', { upstreamUrl: 'http://typo.test' })],
      ['a missing upstreamBaseUrl', JSON.stringify({ id: 'broken', allowedRoutes: [{ path: '/' }] })],
      ['an id that does not match its key', tenantJson('someone-else')],
      ['text that is not JSON', '{"id": "broken",'],
    ])('with %s is refused with 500 tenant_misconfigured', async (_label, json) => {
      const { store, resolver } = setup();
      await store.putTenant('broken', json);
      await addKey(store, 'broken', 'broken-key');

      const err = await gatewayErrorOf(() => resolver.resolveApiKey('broken-key'));
      expect(err.status).toBe(500);
      expect(err.code).toBe('tenant_misconfigured');
    });

    it('stays refused from the cache, without reading the store again', async () => {
      const { store, resolver } = setup();
      await store.putTenant('broken', tenantJson('broken', { upstreamUrl: 'http://typo.test' }));
      await addKey(store, 'broken', 'broken-key');
      await gatewayErrorOf(() => resolver.resolveApiKey('broken-key'));
      store.resetReads();

      const err = await gatewayErrorOf(() => resolver.resolveApiKey('broken-key'));
      expect(err.status).toBe(500);
      expect(err.code).toBe('tenant_misconfigured');
      expect(store.reads.getTenant).toBe(0);
    });

    it('is refused by id too', async () => {
      const { store, resolver } = setup();
      await store.putTenant('broken', tenantJson('broken', { upstreamUrl: 'http://typo.test' }));

      expect((await gatewayErrorOf(() => resolver.resolveTenant('broken'))).code).toBe('tenant_misconfigured');
    });
  });

  describe('when the store is unavailable', () => {
    it('serves stale cached tenants', async () => {
      const { store, resolver } = setup();
      await addTenant(store, 'acme');
      await addKey(store, 'acme', 'acme-key');
      await resolver.resolveApiKey('acme-key');

      advance(TTL_MS * 10);
      store.down = true;
      store.resetReads();

      expect((await resolver.resolveApiKey('acme-key'))?.tenant.id).toBe('acme');
      // It did try the store: the entries were stale.
      expect(store.reads).toEqual({ lookupKey: 1, getTenant: 1 });
    });

    it('serves a stale unknown-key answer as null', async () => {
      const { store, resolver } = setup();
      await expect(resolver.resolveApiKey('unknown')).resolves.toBeNull();

      advance(TTL_MS * 10);
      store.down = true;

      await expect(resolver.resolveApiKey('unknown')).resolves.toBeNull();
    });

    it('answers 503 state_unavailable for a key it has never seen', async () => {
      const { store, resolver } = setup();
      await addTenant(store, 'acme');
      await addKey(store, 'acme', 'acme-key');
      store.down = true;

      const err = await gatewayErrorOf(() => resolver.resolveApiKey('acme-key'));
      expect(err.status).toBe(503);
      expect(err.code).toBe('state_unavailable');
    });

    it('answers 503 state_unavailable for a cached key whose tenant is not cached', async () => {
      const { store, resolver } = setup({ maxTenants: 1 });
      await addTenant(store, 'acme');
      await addTenant(store, 'globex');
      await addKey(store, 'acme', 'acme-key');
      await addKey(store, 'globex', 'globex-key');
      await resolver.resolveApiKey('acme-key');
      await resolver.resolveApiKey('globex-key'); // evicts tenant acme, keeps both key mappings
      store.down = true;

      const err = await gatewayErrorOf(() => resolver.resolveApiKey('acme-key'));
      expect(err.status).toBe(503);
      expect(err.code).toBe('state_unavailable');
      expect((await resolver.resolveApiKey('globex-key'))?.tenant.id).toBe('globex');
    });

    it('fails closed with 503 state_unavailable on an unexpected store error', async () => {
      const { store, resolver } = setup();
      store.unexpected = new TypeError('boom');

      const err = await gatewayErrorOf(() => resolver.resolveApiKey('any-key'));
      expect(err.status).toBe(503);
      expect(err.code).toBe('state_unavailable');
    });

    it('recovers by itself when the store answers again', async () => {
      const { store, resolver } = setup();
      await addTenant(store, 'acme');
      await addKey(store, 'acme', 'acme-key');
      store.down = true;
      await gatewayErrorOf(() => resolver.resolveApiKey('acme-key'));

      store.down = false;
      expect((await resolver.resolveApiKey('acme-key'))?.tenant.id).toBe('acme');
    });
  });
});
