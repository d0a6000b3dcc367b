import pino, { type Logger } from 'pino';
import { matchRoute } from '../../../src/policy/steps/route/route-matcher';
import { MemoryStore } from '../../../src/store/memory/memory.store';
import { StoreUnavailableError, type KeyLookup } from '../../../src/store/store.port';
import { hashApiKey } from '../../../src/tenants/api-key';
import { TenantResolver, type ResolverOptions } from '../../../src/tenants/tenant-resolver';
import { TenantRepository } from '../../../src/tenants/tenant.repository';
import { capturedLogger } from '../../support/captured-logger';
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
  /**
   * When set as a read starts, the read looks at the data at once but answers only once this
   * settles: a reply still on its way (`holdLookup` for key lookups, `hold` for tenant reads).
   */
  holdLookup: Promise<void> | null = null;
  hold: Promise<void> | null = null;

  override async lookupKey(hash: string): Promise<KeyLookup | null> {
    this.reads.lookupKey++;
    const hold = this.holdLookup;
    if (this.unexpected) throw this.unexpected;
    if (this.down) throw new StoreUnavailableError();
    const found = await super.lookupKey(hash);
    if (hold) await hold;
    return found;
  }

  override async getTenant(id: string): Promise<string | null> {
    this.reads.getTenant++;
    const hold = this.hold;
    if (this.unexpected) throw this.unexpected;
    if (this.down) throw new StoreUnavailableError();
    const raw = await super.getTenant(id);
    if (hold) await hold;
    return raw;
  }

  resetReads(): void {
    this.reads = { lookupKey: 0, getTenant: 0 };
  }
}

let keySeq = 0;

function setup(options: Partial<ResolverOptions> = {}, logger: Logger = silent) {
  const store = new FaultyStore();
  const repository = new TenantRepository(store, logger, { jwksAllowHttp: false });
  const resolver = new TenantResolver(store, repository, logger, { ttlMs: TTL_MS, ...options });
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

/** A promise that settles only on release(): keeps a store reply on its way for as long as a test needs. */
function gate(): { promise: Promise<void>; release: () => void } {
  let release = (): void => undefined;
  const promise = new Promise<void>((resolve) => (release = resolve));
  return { promise, release };
}

/** Lets pending promise callbacks run until `done()` holds (bounded: a few dozen turns). */
async function settle(done: () => boolean): Promise<void> {
  for (let i = 0; i < 50 && !done(); i++) await Promise.resolve();
}

/** `n` calls started at once, the way concurrent requests reach the resolver. */
function concurrently<T>(n: number, call: () => Promise<T>): Promise<T[]> {
  return Promise.all(Array.from({ length: n }, call));
}

describe('TenantResolver.cachedKeyHash: the answer without a promise', () => {
  it('has none until a read cached the key and its tenant, then gives what resolveKeyHash gave, with no store read', async () => {
    const { store, resolver } = setup();
    await addTenant(store, 'acme');
    const keyId = await addKey(store, 'acme', 'acme-key');
    const hash = hashApiKey('acme-key');
    expect(resolver.cachedKeyHash(hash)).toBeUndefined();

    const read = await resolver.resolveKeyHash(hash);
    store.resetReads();
    const cached = resolver.cachedKeyHash(hash);
    expect(cached).toEqual(read);
    expect(cached?.key?.keyId).toBe(keyId);
    expect(store.reads).toEqual({ lookupKey: 0, getTenant: 0 });
  });

  it('answers null for a key cached as unknown, and nothing for a key never seen', async () => {
    const { resolver } = setup();
    expect(resolver.cachedKeyHash(hashApiKey('nobody'))).toBeUndefined();
    expect(await resolver.resolveApiKey('nobody')).toBeNull();
    expect(resolver.cachedKeyHash(hashApiKey('nobody'))).toBeNull();
  });

  it('has none once the entries are stale, after an invalidation of the tenant, or past the key expiry', async () => {
    const { store, resolver } = setup();
    await addTenant(store, 'acme');
    await addKey(store, 'acme', 'acme-key');
    const hash = hashApiKey('acme-key');

    await resolver.resolveKeyHash(hash);
    resolver.invalidate({ tenantId: 'acme' });
    expect(resolver.cachedKeyHash(hash)).toBeUndefined();

    await resolver.resolveKeyHash(hash);
    advance(TTL_MS);
    expect(resolver.cachedKeyHash(hash)).toBeUndefined();

    await addKey(store, 'acme', 'short-lived', Date.now() + TTL_MS / 2);
    await resolver.resolveKeyHash(hash);
    expect((await resolver.resolveApiKey('short-lived'))?.key).not.toBeNull();
    expect(resolver.cachedKeyHash(hashApiKey('short-lived'))).toBeDefined();
    advance(TTL_MS / 2);
    expect(resolver.cachedKeyHash(hashApiKey('short-lived'))).toBeUndefined();
    expect(resolver.cachedKeyHash(hash)).toBeDefined();
  });

  it('throws 500 tenant_misconfigured for a cached tenant that fails validation, as resolveKeyHash does', async () => {
    const { store, resolver } = setup();
    await store.putTenant('broken', JSON.stringify({ id: 'broken', upstreamBaseUrl: 'nope' }));
    await addKey(store, 'broken', 'broken-key');
    const hash = hashApiKey('broken-key');
    await expect(resolver.resolveKeyHash(hash)).rejects.toThrow();
    expect(await gatewayErrorOf(() => resolver.cachedKeyHash(hash))).toMatchObject({ code: 'tenant_misconfigured' });
  });
});

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
      expect(matchRoute(served!.tenant.allowedRoutes, '/v1/users/42', 'GET').route).toEqual({ path: '/v1/users', methods: ['GET'] });
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

    it('invalidating all drops cached keys, unknown keys and tenants', async () => {
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

      resolver.invalidate({ all: true });

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

  describe('concurrent requests (single-flight)', () => {
    it('50 concurrent requests for a key nobody has cached make one key lookup and one tenant load', async () => {
      const { store, resolver } = setup();
      await addTenant(store, 'acme');
      await addKey(store, 'acme', 'acme-key');

      const served = await concurrently(50, () => resolver.resolveApiKey('acme-key'));

      expect(served.map((s) => s?.tenant.id)).toEqual(Array(50).fill('acme'));
      expect(store.reads).toEqual({ lookupKey: 1, getTenant: 1 });
    });

    it('50 concurrent requests when the cached entries go stale make one read of each, and all see the change', async () => {
      const { store, resolver } = setup();
      await addTenant(store, 'acme', { name: 'Before' });
      await addKey(store, 'acme', 'acme-key');
      await resolver.resolveApiKey('acme-key');
      await addTenant(store, 'acme', { name: 'After' });
      store.resetReads();
      advance(TTL_MS);

      const served = await concurrently(50, () => resolver.resolveApiKey('acme-key'));

      expect(served.map((s) => s?.tenant.name)).toEqual(Array(50).fill('After'));
      expect(store.reads).toEqual({ lookupKey: 1, getTenant: 1 });
      // The shared answer was cached.
      expect((await resolver.resolveApiKey('acme-key'))?.tenant.name).toBe('After');
      expect(store.reads).toEqual({ lookupKey: 1, getTenant: 1 });
    });

    it("concurrent requests with different keys of one tenant share the tenant's load", async () => {
      const { store, resolver } = setup();
      await addTenant(store, 'acme');
      const keys = ['key-a', 'key-b', 'key-c'];
      for (const key of keys) await addKey(store, 'acme', key);

      const served = await Promise.all(keys.flatMap((key) => [1, 2].map(() => resolver.resolveApiKey(key))));

      expect(served.every((s) => s?.tenant.id === 'acme')).toBe(true);
      expect(store.reads).toEqual({ lookupKey: keys.length, getTenant: 1 });
    });

    it('concurrent requests for an unknown key make one lookup, and the answer is cached as unknown', async () => {
      const { store, resolver } = setup();

      await expect(concurrently(20, () => resolver.resolveApiKey('nobody-key'))).resolves.toEqual(Array(20).fill(null));
      expect(store.reads.lookupKey).toBe(1);
      await expect(resolver.resolveApiKey('nobody-key')).resolves.toBeNull();
      expect(store.reads.lookupKey).toBe(1);
    });

    it('concurrent requests for a tenant id make one load', async () => {
      const { store, resolver } = setup();
      await addTenant(store, 'acme');

      const served = await concurrently(20, () => resolver.resolveTenant('acme'));

      expect(served.every((s) => s?.tenant.id === 'acme')).toBe(true);
      expect(store.reads.getTenant).toBe(1);
    });

    it('a failed read is shared by every request waiting on it, and the next request reads again', async () => {
      const { store, resolver } = setup();
      await addTenant(store, 'acme');
      await addKey(store, 'acme', 'acme-key');
      store.down = true;

      const outcomes = await concurrently(50, () => gatewayErrorOf(() => resolver.resolveApiKey('acme-key')));

      expect(outcomes.map((e) => `${e.status} ${e.code}`)).toEqual(Array(50).fill('503 state_unavailable'));
      expect(store.reads.lookupKey).toBe(1);
      store.down = false;
      expect((await resolver.resolveApiKey('acme-key'))?.tenant.id).toBe('acme');
      expect(store.reads).toEqual({ lookupKey: 2, getTenant: 1 });
    });

    it('a failed tenant load is shared too, and the next request loads again', async () => {
      const { store, resolver } = setup();
      await addTenant(store, 'acme');
      store.unexpected = new TypeError('boom');

      const outcomes = await concurrently(20, () => gatewayErrorOf(() => resolver.resolveTenant('acme')));

      expect(outcomes.map((e) => e.code)).toEqual(Array(20).fill('state_unavailable'));
      expect(store.reads.getTenant).toBe(1);
      store.unexpected = null;
      expect((await resolver.resolveTenant('acme'))?.tenant.id).toBe('acme');
      expect(store.reads.getTenant).toBe(2);
    });

    it('while the store is down, every request sharing the failed read is served its stale entry', async () => {
      const { store, resolver } = setup();
      await addTenant(store, 'acme');
      await addKey(store, 'acme', 'acme-key');
      await resolver.resolveApiKey('acme-key');
      advance(TTL_MS * 10);
      store.down = true;
      store.resetReads();

      const served = await concurrently(50, () => resolver.resolveApiKey('acme-key'));

      expect(served.map((s) => s?.tenant.id)).toEqual(Array(50).fill('acme'));
      expect(store.reads).toEqual({ lookupKey: 1, getTenant: 1 });
    });

    it('logs an unexpected store error once per shared read, not once per request', async () => {
      const { logger, lines } = capturedLogger('error');
      const { store, resolver } = setup({}, logger);
      store.unexpected = new TypeError('boom');

      const outcomes = await concurrently(20, () => gatewayErrorOf(() => resolver.resolveApiKey('any-key')));

      expect(outcomes.map((e) => e.code)).toEqual(Array(20).fill('state_unavailable'));
      expect(lines.filter((l) => l.msg === 'tenant lookup failed')).toHaveLength(1);
    });

    it('an invalid tenant is refused to every request sharing its load, each with its own error', async () => {
      const { store, resolver } = setup();
      await store.putTenant('broken', tenantJson('broken', { upstreamUrl: 'http://typo.test' }));
      await addKey(store, 'broken', 'broken-key');

      const errors = await concurrently(10, () => gatewayErrorOf(() => resolver.resolveApiKey('broken-key')));

      expect(errors.map((e) => `${e.status} ${e.code}`)).toEqual(Array(10).fill('500 tenant_misconfigured'));
      expect(new Set(errors).size).toBe(10);
      expect(store.reads.getTenant).toBe(1);
    });

    it('a request arriving after an invalidation does not join the read in flight before it', async () => {
      const { store, resolver } = setup();
      await addTenant(store, 'acme', { name: 'Before' });
      await addKey(store, 'acme', 'acme-key');
      await resolver.resolveApiKey('acme-key');
      advance(TTL_MS);
      store.resetReads();
      // First read of the tenant: it sees the old state and its reply is held on its way.
      const oldReply = gate();
      store.hold = oldReply.promise;
      const before = resolver.resolveTenant('acme');
      await settle(() => store.reads.getTenant === 1);
      expect(store.reads.getTenant).toBe(1);

      await addTenant(store, 'acme', { name: 'After' });
      resolver.invalidate({ tenantId: 'acme' });
      const newReply = gate();
      store.hold = newReply.promise;
      const after = resolver.resolveTenant('acme');
      await settle(() => store.reads.getTenant === 2);
      // A read of its own, not the one started before the invalidation.
      expect(store.reads.getTenant).toBe(2);

      oldReply.release();
      expect((await before)?.tenant.name).toBe('Before');
      // The old read settling leaves the new one in place: a request now joins it.
      const joining = resolver.resolveTenant('acme');
      await settle(() => false);
      expect(store.reads.getTenant).toBe(2);

      newReply.release();
      store.hold = null;
      expect((await after)?.tenant.name).toBe('After');
      expect((await joining)?.tenant.name).toBe('After');
      // The new read was current: its answer is cached, the old one's was not.
      expect((await resolver.resolveTenant('acme'))?.tenant.name).toBe('After');
      expect(store.reads.getTenant).toBe(2);
    });

    it('a key lookup in flight across an invalidation is not joined by later requests either', async () => {
      const { store, resolver } = setup();
      await addTenant(store, 'acme');
      const keyId = await addKey(store, 'acme', 'acme-key');
      const oldReply = gate();
      store.holdLookup = oldReply.promise;
      const before = resolver.resolveApiKey('acme-key');
      await settle(() => store.reads.lookupKey === 1);

      await store.removeKey('acme', keyId);
      resolver.invalidate({ tenantId: 'acme' });
      store.holdLookup = null;
      // The revoked key is refused at once, without waiting for the read that still names it.
      let answer: unknown = 'still waiting';
      const after = resolver.resolveApiKey('acme-key').then((served) => (answer = served));
      await settle(() => answer !== 'still waiting');
      expect(answer).toBeNull();
      expect(store.reads.lookupKey).toBe(2);

      oldReply.release();
      await after;
      expect((await before)?.tenant.id).toBe('acme');
      await expect(resolver.resolveApiKey('acme-key')).resolves.toBeNull();
      expect(store.reads.lookupKey).toBe(2);
    });

    it('refuses a key that expired before the request arrived, even when the read it joined found it', async () => {
      const { store, resolver } = setup({ ttlMs: 3_600_000 });
      await addTenant(store, 'acme');
      await addKey(store, 'acme', 'short-lived', Date.now() + 50);
      const reply = gate();
      store.holdLookup = reply.promise;
      const early = resolver.resolveApiKey('short-lived');
      await settle(() => store.reads.lookupKey === 1);

      advance(50);
      const late = resolver.resolveApiKey('short-lived');
      reply.release();

      expect((await early)?.tenant.id).toBe('acme');
      await expect(late).resolves.toBeNull();
      expect(store.reads.lookupKey).toBe(1);
    });
  });

  describe('refreshing ahead (refreshAheadMs)', () => {
    const AHEAD_MS = 200;
    const setupAhead = (options: Partial<ResolverOptions> = {}, logger?: Logger) => setup({ refreshAheadMs: AHEAD_MS, ...options }, logger);

    it('serves a request close to the end of the freshness from the cache and starts one background refresh of each', async () => {
      const { store, resolver } = setupAhead();
      await addTenant(store, 'acme', { name: 'Before' });
      await addKey(store, 'acme', 'acme-key');
      await resolver.resolveApiKey('acme-key');
      await addTenant(store, 'acme', { name: 'After' });
      store.resetReads();

      advance(TTL_MS - AHEAD_MS - 1);
      expect((await resolver.resolveApiKey('acme-key'))?.tenant.name).toBe('Before');
      expect(store.reads).toEqual({ lookupKey: 0, getTenant: 0 });

      advance(1);
      const lookupReply = gate();
      const tenantReply = gate();
      store.holdLookup = lookupReply.promise;
      store.hold = tenantReply.promise;
      const served: unknown[] = [];
      for (let i = 0; i < 50; i++) void resolver.resolveApiKey('acme-key').then((s) => served.push(s?.tenant.name));
      // Answered while both refreshes are still on their way: nobody waited for the store.
      await settle(() => served.length === 50);
      expect(served).toEqual(Array(50).fill('Before'));
      expect(store.reads).toEqual({ lookupKey: 1, getTenant: 1 });

      lookupReply.release();
      tenantReply.release();
      store.holdLookup = store.hold = null;
      await settle(() => false);
      // Renewed from the refresh's start: still fresh where the old entries would have gone stale.
      advance(AHEAD_MS);
      expect((await resolver.resolveApiKey('acme-key'))?.tenant.name).toBe('After');
      expect(store.reads).toEqual({ lookupKey: 1, getTenant: 1 });
    });

    it('never serves an entry past its freshness: once stale, the request waits for the store as before', async () => {
      const { store, resolver } = setupAhead();
      await addTenant(store, 'acme', { name: 'Before' });
      await addKey(store, 'acme', 'acme-key');
      await resolver.resolveApiKey('acme-key');
      await addTenant(store, 'acme', { name: 'After' });
      store.resetReads();

      advance(TTL_MS);
      expect((await resolver.resolveApiKey('acme-key'))?.tenant.name).toBe('After');
      expect(store.reads).toEqual({ lookupKey: 1, getTenant: 1 });
    });

    it('renews an unknown key too, so a key written into the store is picked up by the refresh', async () => {
      const { store, resolver } = setupAhead();
      await addTenant(store, 'acme');
      await expect(resolver.resolveApiKey('late-key')).resolves.toBeNull();
      await addKey(store, 'acme', 'late-key');

      advance(TTL_MS - AHEAD_MS);
      await expect(resolver.resolveApiKey('late-key')).resolves.toBeNull();
      await settle(() => false);
      expect((await resolver.resolveApiKey('late-key'))?.tenant.id).toBe('acme');
    });

    it('a refresh that fails is not seen by the request, and the entry keeps being served while fresh, then stale', async () => {
      const { store, resolver } = setupAhead();
      await addTenant(store, 'acme');
      await addKey(store, 'acme', 'acme-key');
      await resolver.resolveApiKey('acme-key');
      store.down = true;
      store.resetReads();

      advance(TTL_MS - AHEAD_MS);
      expect((await resolver.resolveApiKey('acme-key'))?.tenant.id).toBe('acme');
      await settle(() => false);
      expect(store.reads).toEqual({ lookupKey: 1, getTenant: 1 });
      advance(AHEAD_MS - 1);
      expect((await resolver.resolveApiKey('acme-key'))?.tenant.id).toBe('acme');
      advance(TTL_MS * 10);
      expect((await resolver.resolveApiKey('acme-key'))?.tenant.id).toBe('acme');
    });

    it('a refresh failing with an unexpected error is logged once and leaves the request served', async () => {
      const { logger, lines } = capturedLogger('error');
      const { store, resolver } = setupAhead({}, logger);
      await addTenant(store, 'acme');
      await resolver.resolveTenant('acme');
      store.unexpected = new TypeError('boom');

      advance(TTL_MS - AHEAD_MS);
      expect((await resolver.resolveTenant('acme'))?.tenant.id).toBe('acme');
      await settle(() => lines.length > 0);
      expect(lines.filter((l) => l.msg === 'tenant lookup failed')).toHaveLength(1);
    });

    it('never serves a key past its expiry, refresh or not', async () => {
      const { store, resolver } = setupAhead({ ttlMs: 3_600_000, refreshAheadMs: 3_600_000 });
      await addTenant(store, 'acme');
      await addKey(store, 'acme', 'short-lived', Date.now() + 50);

      expect((await resolver.resolveApiKey('short-lived'))?.tenant.id).toBe('acme');
      advance(49);
      expect((await resolver.resolveApiKey('short-lived'))?.tenant.id).toBe('acme');
      await settle(() => false);
      expect(store.reads.lookupKey).toBe(2); // the second request was in the window: it renewed the mapping

      advance(1);
      store.down = true;
      expect((await gatewayErrorOf(() => resolver.resolveApiKey('short-lived'))).code).toBe('state_unavailable');
      store.down = false;
      await expect(resolver.resolveApiKey('short-lived')).resolves.toBeNull();
    });

    it('drops an invalidated entry instead of serving it while it is refreshed', async () => {
      const { store, resolver } = setupAhead();
      await addTenant(store, 'acme', { name: 'Before' });
      const keyId = await addKey(store, 'acme', 'acme-key');
      await resolver.resolveApiKey('acme-key');
      advance(TTL_MS - AHEAD_MS);
      // A refresh starts and is still on its way when the key is revoked.
      const reply = gate();
      store.holdLookup = reply.promise;
      expect((await resolver.resolveApiKey('acme-key'))?.tenant.name).toBe('Before');
      store.holdLookup = null;

      await store.removeKey('acme', keyId);
      resolver.invalidate({ tenantId: 'acme' });

      await expect(resolver.resolveApiKey('acme-key')).resolves.toBeNull();
      reply.release();
      await settle(() => false);
      // The refresh read before the invalidation did not put the revoked key back.
      await expect(resolver.resolveApiKey('acme-key')).resolves.toBeNull();
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
