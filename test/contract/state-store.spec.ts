import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { Cluster, Redis } from 'ioredis';
import { MemoryStore } from '../../src/store/memory/memory.store';
import { createRedisStore } from '../../src/store/redis/redis.store';
import { KeyRecord, StateStore, TokenRecord } from '../../src/store/store.port';
import { startRedisCluster } from '../support/redis-cluster';
import { startRedis, waitFor } from '../support/redis-server';
import { singleRedisConfig } from '../support/fixtures';

/** One contract, every adapter: the same behaviour from the embedded store, a Redis server and a Redis Cluster. */

type Raw = Redis | Cluster;

interface Subject {
  store: StateStore;
  /** Direct access to the data behind a Redis-backed store, for hand-written data and layout checks. */
  raw: Raw | null;
  stop(): Promise<void>;
}

interface Factory {
  name: string;
  hasRaw: boolean;
  isCluster: boolean;
  start(): Promise<Subject>;
}

const TLS_OFF = { enabled: false, rejectUnauthorized: true };

async function readyStore(store: StateStore): Promise<StateStore> {
  await waitFor(() => store.status() === 'ready', 10_000, `${store.kind} store ready`);
  return store;
}

const memory: Factory = {
  name: 'memory',
  hasRaw: false,
  isCluster: false,
  start: async () => ({ store: new MemoryStore(), raw: null, stop: async () => undefined }),
};

const single: Factory = {
  name: 'redis',
  hasRaw: true,
  isCluster: false,
  start: async () => {
    const redis = await startRedis();
    const cfg = singleRedisConfig(redis);
    const store = await readyStore(createRedisStore(cfg));
    return {
      store,
      raw: redis.client(),
      stop: async () => {
        await store.close();
        await redis.stop();
      },
    };
  },
};

const cluster: Factory = {
  name: 'redis cluster',
  hasRaw: true,
  isCluster: true,
  start: async () => {
    const servers = await startRedisCluster(3);
    const store = await readyStore(
      createRedisStore({ mode: 'cluster', nodes: servers.nodes, password: null, tls: TLS_OFF }),
    );
    const raw = new Cluster(servers.nodes);
    raw.on('error', () => undefined);
    return {
      store,
      raw,
      stop: async () => {
        await store.close();
        raw.disconnect();
        await servers.stop();
      },
    };
  },
};

// A cluster is built from our own redis-server processes with redis-cli; REDIS_URL alone cannot provide one.
const canBuildCluster = ['redis-server', 'redis-cli'].every((bin) => spawnSync(bin, ['--version']).status === 0);
const factories = canBuildCluster ? [memory, single, cluster] : [memory, single];
if (!canBuildCluster) {
  describe.skip('StateStore contract: redis cluster (skipped: needs redis-server and redis-cli on PATH)', () => {
    it('runs the contract on a 3-master cluster', () => undefined);
  });
}

const uid = (): string => randomBytes(5).toString('hex');
const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');
const tenantJson = (id: string): string =>
  JSON.stringify({ id, name: `Tenant ${id}`, upstreamBaseUrl: 'http://127.0.0.1:9' });

function keyRecord(overrides: Partial<KeyRecord> = {}): KeyRecord {
  const createdAt = new Date().toISOString();
  return { keyId: `k_${uid()}`, hash: sha256(uid()), createdAt, expiresAt: null, ...overrides };
}

describe.each(factories)('StateStore contract: $name', (factory) => {
  let subject: Subject;
  let store: StateStore;
  /** The raw client; only used inside blocks registered for Redis-backed factories. */
  const raw = (): Raw => subject.raw!;

  beforeAll(async () => {
    subject = await factory.start();
    store = subject.store;
  });

  afterAll(async () => {
    await subject?.stop();
  });

  it('is ready and answers ping', async () => {
    expect(store.kind).toBe(factory.name === 'memory' ? 'memory' : 'redis');
    expect(store.status()).toBe('ready');
    await expect(store.ping()).resolves.toBe(true);
  });

  it('stores tenant JSON as given and returns null for an unknown tenant', async () => {
    const id = `t-${uid()}`;
    await expect(store.getTenant(id)).resolves.toBeNull();
    await expect(store.putTenant(id, tenantJson(id))).resolves.toBe(true);
    await expect(store.getTenant(id)).resolves.toBe(tenantJson(id));
    await expect(store.putTenant(id, '{"replaced":true}')).resolves.toBe(true);
    await expect(store.getTenant(id)).resolves.toBe('{"replaced":true}');
  });

  it('writes with onlyIfAbsent only when the tenant does not exist', async () => {
    const id = `t-${uid()}`;
    await expect(store.putTenant(id, '{"v":1}', true)).resolves.toBe(true);
    await expect(store.putTenant(id, '{"v":2}', true)).resolves.toBe(false);
    await expect(store.getTenant(id)).resolves.toBe('{"v":1}');
  });

  it('lists tenant ids sorted, without key mappings, and forgets deleted tenants', async () => {
    const prefix = `list-${uid()}-`;
    const ids = ['c', 'a', 'b'].map((s) => prefix + s);
    for (const id of ids) await store.putTenant(id, tenantJson(id));
    await store.addKey(ids[0], keyRecord());
    await store.deleteTenant(ids[2]);

    const listed = await store.listTenantIds();
    expect(listed.filter((id) => id.startsWith(prefix))).toEqual([prefix + 'a', prefix + 'c']);
    expect(listed).toEqual([...listed].sort());
    expect(new Set(listed).size).toBe(listed.length);
    expect(listed.some((id) => id.startsWith('byApiKey:'))).toBe(false);
  });

  it('adds, looks up, lists and removes a key', async () => {
    const tenant = `t-${uid()}`;
    const record = keyRecord();
    await expect(store.lookupKey(record.hash)).resolves.toBeNull();

    await store.addKey(tenant, record);
    await expect(store.lookupKey(record.hash)).resolves.toEqual({ tenantId: tenant, expiresAtMs: null });
    await expect(store.listKeys(tenant)).resolves.toEqual([record]);

    await expect(store.removeKey(tenant, record.keyId)).resolves.toEqual(record);
    await expect(store.lookupKey(record.hash)).resolves.toBeNull();
    await expect(store.listKeys(tenant)).resolves.toEqual([]);
    await expect(store.removeKey(tenant, record.keyId)).resolves.toBeNull();
  });

  it('lists keys oldest first', async () => {
    const tenant = `t-${uid()}`;
    const newer = keyRecord({ createdAt: '2024-05-02T00:00:00.000Z' });
    const older = keyRecord({ createdAt: '2024-05-01T00:00:00.000Z' });
    await store.addKey(tenant, newer);
    await store.addKey(tenant, older);
    await expect(store.listKeys(tenant)).resolves.toEqual([older, newer]);
  });

  it("does not remove another tenant's key", async () => {
    const [owner, other] = [`t-${uid()}`, `t-${uid()}`];
    const record = keyRecord();
    await store.addKey(owner, record);
    await expect(store.removeKey(other, record.keyId)).resolves.toBeNull();
    await expect(store.lookupKey(record.hash)).resolves.toEqual({ tenantId: owner, expiresAtMs: null });
    await expect(store.listKeys(owner)).resolves.toEqual([record]);
  });

  it('serves an expiring key until expiresAt, then no longer looks it up but keeps listing it', async () => {
    const tenant = `t-${uid()}`;
    const expiresAtMs = Date.now() + 1200;
    const expiring = keyRecord({ expiresAt: new Date(expiresAtMs).toISOString() });
    const lasting = keyRecord({ createdAt: new Date(Date.now() + 1).toISOString() });
    await store.addKey(tenant, expiring);
    await store.addKey(tenant, lasting);

    const found = await store.lookupKey(expiring.hash);
    expect(found?.tenantId).toBe(tenant);
    expect(Math.abs(found!.expiresAtMs! - expiresAtMs)).toBeLessThan(100);
    await expect(store.listKeys(tenant)).resolves.toEqual([expiring, lasting]);

    await new Promise((r) => setTimeout(r, expiresAtMs - Date.now() + 50));
    await expect(store.lookupKey(expiring.hash)).resolves.toBeNull();
    // SPEC §17: an expired key stays listed until it is revoked.
    await expect(store.listKeys(tenant)).resolves.toEqual([expiring, lasting]);
    await expect(store.lookupKey(lasting.hash)).resolves.toEqual({ tenantId: tenant, expiresAtMs: null });
    await expect(store.removeKey(tenant, expiring.keyId)).resolves.toEqual(expiring);
    await expect(store.listKeys(tenant)).resolves.toEqual([lasting]);
  });

  describe('audit log (SPEC §14)', () => {
    // One log per store: the tests chain on from whatever head earlier tests left.
    it('appends only on the head it was chained to, and trims the oldest past the bound', async () => {
      const start = await store.auditHead();
      expect(start.first).toBeLessThanOrEqual(start.seq + 1);
      const first = { seq: start.seq, hash: start.hash };
      await expect(store.appendAudit(first, '{"n":1}', 'a'.repeat(64), 3)).resolves.toBe(true);
      // The same head again lost the race: nothing is written.
      await expect(store.appendAudit(first, '{"n":"dup"}', 'b'.repeat(64), 3)).resolves.toBe(false);
      let head = await store.auditHead();
      expect(head).toMatchObject({ seq: start.seq + 1, hash: 'a'.repeat(64) });
      for (let i = 2; i <= 4; i++) {
        await expect(store.appendAudit({ seq: head.seq, hash: head.hash }, `{"n":${i}}`, String(i).repeat(64), 3)).resolves.toBe(true);
        head = await store.auditHead();
      }
      expect(head).toEqual({ seq: start.seq + 4, hash: '4'.repeat(64), first: start.seq + 2 });
      await expect(store.readAudit(start.seq + 1, 4)).resolves.toEqual([null, '{"n":2}', '{"n":3}', '{"n":4}']);
    });

    it('gives concurrent appenders distinct, gap-free seqs', async () => {
      const appendOne = async (n: number): Promise<number> => {
        for (;;) {
          const head = await store.auditHead();
          if (await store.appendAudit({ seq: head.seq, hash: head.hash }, `{"n":${n}}`, sha256(`${head.hash}${n}`), 1000)) return head.seq + 1;
        }
      };
      const seqs = await Promise.all(Array.from({ length: 20 }, (_, n) => appendOne(n)));
      const sorted = [...seqs].sort((x, y) => x - y);
      expect(new Set(seqs).size).toBe(20);
      expect(sorted[19] - sorted[0]).toBe(19);
    });
  });

  describe('tenant-scoped admin tokens (SPEC §12)', () => {
    const tokenRecord = (tenantId: string, overrides: Partial<TokenRecord> = {}): TokenRecord => ({
      tokenId: `tok_${uid()}`,
      tenantId,
      hash: sha256(uid()),
      role: 'viewer',
      name: null,
      createdAt: new Date().toISOString(),
      expiresAt: null,
      ...overrides,
    });

    it('stores a token by hash, lists it under its tenant and revokes it', async () => {
      const [tenant, other] = [`t-${uid()}`, `t-${uid()}`];
      const record = tokenRecord(tenant, { role: 'admin', name: 'ops team' });
      await store.addToken(record);
      await expect(store.tokenByHash(record.hash)).resolves.toEqual(record);
      await expect(store.listTokens(tenant)).resolves.toEqual([record]);
      await expect(store.listTokens(other)).resolves.toEqual([]);
      await expect(store.removeToken(other, record.tokenId)).resolves.toBeNull();
      await expect(store.removeToken(tenant, record.tokenId)).resolves.toEqual(record);
      await expect(store.tokenByHash(record.hash)).resolves.toBeNull();
      await expect(store.listTokens(tenant)).resolves.toEqual([]);
    });

    it('stops answering an expired token but keeps listing it', async () => {
      const tenant = `t-${uid()}`;
      const record = tokenRecord(tenant, { expiresAt: new Date(Date.now() + 300).toISOString() });
      await store.addToken(record);
      await expect(store.tokenByHash(record.hash)).resolves.toEqual(record);
      await new Promise((r) => setTimeout(r, 400));
      await expect(store.tokenByHash(record.hash)).resolves.toBeNull();
      await expect(store.listTokens(tenant)).resolves.toEqual([record]);
    });

    it("deletes a tenant's tokens with the tenant, and no other's", async () => {
      const [doomed, kept] = [`t-${uid()}`, `t-${uid()}`];
      await store.putTenant(doomed, tenantJson(doomed));
      const [gone, stays] = [tokenRecord(doomed), tokenRecord(kept)];
      await store.addToken(gone);
      await store.addToken(stays);
      await store.deleteTenant(doomed);
      await expect(store.tokenByHash(gone.hash)).resolves.toBeNull();
      await expect(store.listTokens(doomed)).resolves.toEqual([]);
      await expect(store.tokenByHash(stays.hash)).resolves.toEqual(stays);
    });
  });

  describe('key metadata (SPEC §13)', () => {
    it('finds a key by its hash, only under its own tenant', async () => {
      const [tenant, other] = [`t-${uid()}`, `t-${uid()}`];
      const record = keyRecord({ name: 'ci runner', disabled: false, rateLimit: { windowSeconds: 60, maxRequests: 5 } });
      await store.addKey(tenant, record);
      await expect(store.keyByHash(tenant, record.hash)).resolves.toEqual(record);
      await expect(store.keyByHash(other, record.hash)).resolves.toBeNull();
      await expect(store.keyByHash(tenant, sha256(uid()))).resolves.toBeNull();
      await store.removeKey(tenant, record.keyId);
      await expect(store.keyByHash(tenant, record.hash)).resolves.toBeNull();
    });

    it('updates name, limit and suspension; null clears; an unknown key is null', async () => {
      const tenant = `t-${uid()}`;
      const record = keyRecord({ name: 'old' });
      await store.addKey(tenant, record);
      const limit = { windowSeconds: 10, maxRequests: 3 };
      const updated = await store.updateKey(tenant, record.keyId, { name: 'new', disabled: true, rateLimit: limit });
      expect(updated).toEqual({ ...record, name: 'new', disabled: true, rateLimit: limit });
      await expect(store.keyByHash(tenant, record.hash)).resolves.toEqual(updated);
      await expect(store.listKeys(tenant)).resolves.toEqual([updated]);
      const cleared = await store.updateKey(tenant, record.keyId, { name: null, rateLimit: null, disabled: false });
      expect(cleared).toEqual({ ...record, name: null, disabled: false, rateLimit: null });
      await expect(store.updateKey(tenant, 'k_missing', { disabled: true })).resolves.toBeNull();
      await expect(store.updateKey(`t-${uid()}`, record.keyId, { disabled: true })).resolves.toBeNull();
    });

    it("moves the mapping's expiry with expiresAt, and brings back an expired key", async () => {
      const tenant = `t-${uid()}`;
      const expiresAtMs = Date.now() + 300;
      const record = keyRecord({ expiresAt: new Date(expiresAtMs).toISOString() });
      await store.addKey(tenant, record);
      const later = Date.now() + 60_000;
      await store.updateKey(tenant, record.keyId, { expiresAt: new Date(later).toISOString() });
      await new Promise((r) => setTimeout(r, 400));
      const found = await store.lookupKey(record.hash);
      expect(Math.abs(found!.expiresAtMs! - later)).toBeLessThan(100);
      await store.updateKey(tenant, record.keyId, { expiresAt: null });
      await expect(store.lookupKey(record.hash)).resolves.toEqual({ tenantId: tenant, expiresAtMs: null });

      const short = keyRecord({ expiresAt: new Date(Date.now() + 200).toISOString() });
      await store.addKey(tenant, short);
      await new Promise((r) => setTimeout(r, 300));
      await expect(store.lookupKey(short.hash)).resolves.toBeNull();
      await store.updateKey(tenant, short.keyId, { expiresAt: null });
      await expect(store.lookupKey(short.hash)).resolves.toEqual({ tenantId: tenant, expiresAtMs: null });
    });

    it('keeps concurrent updates of different fields of one key', async () => {
      const tenant = `t-${uid()}`;
      const record = keyRecord();
      await store.addKey(tenant, record);
      await Promise.all([
        store.updateKey(tenant, record.keyId, { name: 'a' }),
        store.updateKey(tenant, record.keyId, { disabled: true }),
        store.updateKey(tenant, record.keyId, { rateLimit: { windowSeconds: 1, maxRequests: 1 } }),
      ]);
      await expect(store.keyByHash(tenant, record.hash)).resolves.toMatchObject({
        name: 'a',
        disabled: true,
        rateLimit: { windowSeconds: 1, maxRequests: 1 },
      });
    });
  });

  it("deletes a tenant with its keys and leaves other tenants' keys alone", async () => {
    const [doomed, kept] = [`t-${uid()}`, `t-${uid()}`];
    const doomedKeys = [keyRecord(), keyRecord({ expiresAt: new Date(Date.now() + 60_000).toISOString() })];
    const keptKey = keyRecord();
    await store.putTenant(doomed, tenantJson(doomed));
    await store.putTenant(kept, tenantJson(kept));
    for (const record of doomedKeys) await store.addKey(doomed, record);
    await store.addKey(kept, keptKey);

    await expect(store.deleteTenant(doomed)).resolves.toBe(true);
    await expect(store.getTenant(doomed)).resolves.toBeNull();
    for (const record of doomedKeys) await expect(store.lookupKey(record.hash)).resolves.toBeNull();
    await expect(store.listKeys(doomed)).resolves.toEqual([]);
    await expect(store.listTenantIds()).resolves.not.toContain(doomed);

    await expect(store.getTenant(kept)).resolves.toBe(tenantJson(kept));
    await expect(store.lookupKey(keptKey.hash)).resolves.toEqual({ tenantId: kept, expiresAtMs: null });
    await expect(store.listKeys(kept)).resolves.toEqual([keptKey]);

    await expect(store.deleteTenant(doomed)).resolves.toBe(false);
  });

  it('leaves a key hash re-registered by another tenant to that tenant', async () => {
    const [first, second] = [`t-${uid()}`, `t-${uid()}`];
    const hash = sha256(uid());
    const firstRecord = keyRecord({ hash });
    const secondRecord = keyRecord({ hash });
    await store.putTenant(first, tenantJson(first));
    await store.addKey(first, firstRecord);
    await store.addKey(second, secondRecord);

    await expect(store.removeKey(first, firstRecord.keyId)).resolves.toEqual(firstRecord);
    await expect(store.lookupKey(hash)).resolves.toEqual({ tenantId: second, expiresAtMs: null });
    await store.addKey(first, firstRecord);
    await store.addKey(second, secondRecord);
    await store.deleteTenant(first);
    await expect(store.lookupKey(hash)).resolves.toEqual({ tenantId: second, expiresAtMs: null });
  });

  describe('rate-limit bucket (SPEC §5.2)', () => {
    /** A window so long that refill during a test is far below one token. */
    const HOUR = 3600;
    const take = (id: string, capacity: number, windowSeconds: number) => store.takeToken(id, capacity, windowSeconds, 1);
    const peek = (id: string, capacity: number, windowSeconds: number) => store.takeToken(id, capacity, windowSeconds, 0);

    it('admits capacity requests, then refuses with Retry-After and reset values', async () => {
      const id = `rl-${uid()}`;
      // 3 tokens per hour: one token every 1200 s.
      await expect(take(id, 3, HOUR)).resolves.toEqual({ allowed: true, remaining: 2, resetSeconds: 1200, retryAfterSeconds: 0 });
      await expect(take(id, 3, HOUR)).resolves.toEqual({ allowed: true, remaining: 1, resetSeconds: 2400, retryAfterSeconds: 0 });
      await expect(take(id, 3, HOUR)).resolves.toEqual({ allowed: true, remaining: 0, resetSeconds: 3600, retryAfterSeconds: 0 });
      await expect(take(id, 3, HOUR)).resolves.toEqual({ allowed: false, remaining: 0, resetSeconds: 3600, retryAfterSeconds: 1200 });
      // Another tenant's bucket is its own.
      await expect(take(`rl-${uid()}`, 3, HOUR)).resolves.toMatchObject({ allowed: true, remaining: 2 });
    });

    it('admits exactly capacity of many concurrent takes', async () => {
      const id = `rl-${uid()}`;
      const states = await Promise.all(Array.from({ length: 40 }, () => take(id, 7, HOUR)));
      expect(states.filter((s) => s.allowed)).toHaveLength(7);
      expect(states.filter((s) => !s.allowed).every((s) => s.retryAfterSeconds >= 1 && s.remaining === 0)).toBe(true);
      expect(states.filter((s) => s.allowed).map((s) => s.remaining).sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
    });

    describe("with a key's own bucket (SPEC §13)", () => {
      const pair = (id: string, tenantMax: number, keyMax: number, cost: 0 | 1 = 1, keyId = 'key_a') =>
        store.takeTokens(id, { windowSeconds: HOUR, maxRequests: tenantMax }, { keyId, windowSeconds: HOUR, maxRequests: keyMax }, cost);

      it('takes from both, and from neither unless both admit', async () => {
        const id = `rl-${uid()}`;
        await expect(pair(id, 3, 1)).resolves.toEqual({
          allowed: true,
          retryAfterSeconds: 0,
          tenant: { allowed: true, remaining: 2, resetSeconds: 1200, retryAfterSeconds: 0 },
          key: { allowed: true, remaining: 0, resetSeconds: 3600, retryAfterSeconds: 0 },
        });
        // The key's bucket is empty: the tenant's keeps its 2 tokens.
        await expect(pair(id, 3, 1)).resolves.toEqual({
          allowed: false,
          retryAfterSeconds: 3600,
          tenant: { allowed: true, remaining: 2, resetSeconds: 1200, retryAfterSeconds: 0 },
          key: { allowed: false, remaining: 0, resetSeconds: 3600, retryAfterSeconds: 3600 },
        });
        await expect(peek(id, 3, HOUR)).resolves.toMatchObject({ remaining: 2 });
        // Another key of the tenant empties the tenant's bucket; this key's stays as it was.
        await pair(id, 3, 5, 1, 'key_b');
        await pair(id, 3, 5, 1, 'key_b');
        await expect(pair(id, 3, 5, 1, 'key_b')).resolves.toMatchObject({ allowed: false, retryAfterSeconds: 1200, key: { remaining: 3 } });
        await expect(store.takeTokens(id, { windowSeconds: HOUR, maxRequests: 3 }, null, 0)).resolves.toMatchObject({ key: null, allowed: false });
      });

      it('admits exactly the smaller capacity of many concurrent takes', async () => {
        const id = `rl-${uid()}`;
        const states = await Promise.all(Array.from({ length: 30 }, () => pair(id, 10, 4)));
        expect(states.filter((s) => s.allowed)).toHaveLength(4);
        await expect(peek(id, 10, HOUR)).resolves.toMatchObject({ remaining: 6 });
      });

      it('deletes a revoked key\'s bucket', async () => {
        const id = `rl-${uid()}`;
        const record = keyRecord({ keyId: 'key_gone' });
        await store.addKey(id, record);
        await pair(id, 5, 1, 1, 'key_gone');
        await store.removeKey(id, 'key_gone');
        await expect(pair(id, 5, 1, 0, 'key_gone')).resolves.toMatchObject({ allowed: true, key: { remaining: 1 } });
      });
    });

    it('looks without consuming (cost 0), full for an unknown bucket', async () => {
      const id = `rl-${uid()}`;
      await expect(peek(id, 2, HOUR)).resolves.toEqual({ allowed: true, remaining: 2, resetSeconds: 0, retryAfterSeconds: 0 });
      await take(id, 2, HOUR);
      await expect(peek(id, 2, HOUR)).resolves.toMatchObject({ allowed: true, remaining: 1, resetSeconds: 1800 });
      await expect(peek(id, 2, HOUR)).resolves.toMatchObject({ allowed: true, remaining: 1 });
      await expect(take(id, 2, HOUR)).resolves.toMatchObject({ allowed: true, remaining: 0 });
      await expect(peek(id, 2, HOUR)).resolves.toEqual({ allowed: false, remaining: 0, resetSeconds: 3600, retryAfterSeconds: 1800 });
    });

    it('refills continuously at capacity / window per second', async () => {
      const id = `rl-${uid()}`;
      // 4 tokens per second: one every 250 ms.
      for (let i = 0; i < 4; i++) expect((await take(id, 4, 1)).allowed).toBe(true);
      const refused = await take(id, 4, 1);
      expect(refused).toMatchObject({ allowed: false, remaining: 0, retryAfterSeconds: 1, resetSeconds: 1 });
      await waitFor(async () => (await peek(id, 4, 1)).allowed, 3000, 'a token to come back');
      await expect(take(id, 4, 1)).resolves.toMatchObject({ allowed: true, remaining: 0 });
      await waitFor(async () => (await peek(id, 4, 1)).remaining === 4, 3000, 'the bucket to be full again');
      await expect(peek(id, 4, 1)).resolves.toMatchObject({ resetSeconds: 0 });
    });

    it('clamps a bucket to a lowered capacity and keeps its level under a raised one', async () => {
      const id = `rl-${uid()}`;
      for (let i = 0; i < 3; i++) await take(id, 10, HOUR);
      // 7 left; the limit drops to 5: the bucket holds 5 at most.
      await expect(take(id, 5, HOUR)).resolves.toMatchObject({ allowed: true, remaining: 4 });
      // The limit rises to 20: the level stays, refilling at the new rate.
      await expect(take(id, 20, HOUR)).resolves.toMatchObject({ allowed: true, remaining: 3, resetSeconds: Math.ceil((17 * HOUR) / 20) });
    });

    it('forgets the bucket of a deleted tenant', async () => {
      const id = `rl-${uid()}`;
      await store.putTenant(id, tenantJson(id));
      await take(id, 1, HOUR);
      await expect(peek(id, 1, HOUR)).resolves.toMatchObject({ allowed: false });
      await store.deleteTenant(id);
      await expect(peek(id, 1, HOUR)).resolves.toMatchObject({ allowed: true, remaining: 1 });
    });

    if (factory.hasRaw) {
      const bucketKey = (id: string): string => `gw:{${id}}:bucket`;

      it('keeps the bucket at gw:{<id>}:bucket, expiring once it would be full again', async () => {
        const id = `rl-${uid()}`;
        await peek(id, 10, 100);
        await expect(raw().exists(bucketKey(id))).resolves.toBe(0);
        await take(id, 10, 100);
        const fields = await raw().hgetall(bucketKey(id));
        expect(Object.keys(fields).sort()).toEqual(['tokens', 'ts']);
        expect(Number(fields.tokens)).toBe(9);
        // One token of 10 per 100 s is 10 s to full.
        const ttl = await raw().pttl(bucketKey(id));
        expect(ttl).toBeGreaterThan(9_000);
        expect(ttl).toBeLessThanOrEqual(10_000);
        // A refusal changes nothing.
        for (let i = 0; i < 9; i++) await take(id, 10, 100);
        const empty = await raw().hgetall(bucketKey(id));
        await expect(take(id, 10, 100)).resolves.toMatchObject({ allowed: false });
        await expect(raw().hgetall(bucketKey(id))).resolves.toEqual(empty);
      });

      it('takes its time from Redis: a bucket stamped in the future refills nothing', async () => {
        const id = `rl-${uid()}`;
        const [seconds] = await raw().time();
        const futureUs = (Number(seconds) + 600) * 1_000_000;
        await raw().hset(bucketKey(id), 'tokens', '0.5', 'ts', String(futureUs));
        await expect(take(id, 10, 1)).resolves.toMatchObject({ allowed: false, remaining: 0 });
      });

      it('replaces a bucket key of another type instead of failing', async () => {
        const id = `rl-${uid()}`;
        await raw().set(bucketKey(id), 'not a bucket');
        await expect(take(id, 2, HOUR)).resolves.toMatchObject({ allowed: true, remaining: 1 });
        await expect(raw().type(bucketKey(id))).resolves.toBe('hash');
      });

      it('still runs the script after the server forgot it (NOSCRIPT falls back to EVAL)', async () => {
        const id = `rl-${uid()}`;
        await take(id, 5, HOUR);
        const nodes = subject.raw instanceof Cluster ? subject.raw.nodes('master') : [subject.raw as Redis];
        await Promise.all(nodes.map((node) => node.script('FLUSH')));
        await expect(take(id, 5, HOUR)).resolves.toMatchObject({ allowed: true, remaining: 3 });
      });
    }
  });

  if (factory.hasRaw) {
    describe('hand-written data and layout', () => {
      it('serves a tenant and a key mapping written by hand', async () => {
        const id = `acme-${uid()}`;
        const hash = sha256(`sk_live_${uid()}`);
        await raw().set(`tenant:${id}`, tenantJson(id));
        await raw().set(`tenant:byApiKey:${hash}`, id);

        await expect(store.getTenant(id)).resolves.toBe(tenantJson(id));
        await expect(store.listTenantIds()).resolves.toContain(id);
        await expect(store.lookupKey(hash)).resolves.toEqual({ tenantId: id, expiresAtMs: null });
      });

      it('reports the expiry of a mapping set by hand', async () => {
        const hash = sha256(uid());
        const expiresAtMs = Date.now() + 60_000;
        await raw().set(`tenant:byApiKey:${hash}`, 'acme', 'PXAT', expiresAtMs);
        const found = await store.lookupKey(hash);
        expect(found?.tenantId).toBe('acme');
        expect(Math.abs(found!.expiresAtMs! - expiresAtMs)).toBeLessThan(100);
      });

      it('writes the mapping (with its expiry) and the metadata at the documented keys', async () => {
        const tenant = `t-${uid()}`;
        const expiresAtMs = Date.now() + 60_000;
        const record = keyRecord({ expiresAt: new Date(expiresAtMs).toISOString() });
        await store.addKey(tenant, record);

        await expect(raw().get(`tenant:byApiKey:${record.hash}`)).resolves.toBe(tenant);
        const ttl = await raw().pttl(`tenant:byApiKey:${record.hash}`);
        expect(ttl).toBeGreaterThan(59_000);
        expect(ttl).toBeLessThanOrEqual(60_000);
        const meta = await raw().hget(`gw:{${tenant}}:keys`, record.keyId);
        expect(JSON.parse(meta!)).toEqual(record);
      });

      it('keeps expired metadata when listing (SPEC §17)', async () => {
        const tenant = `t-${uid()}`;
        const record = keyRecord({ expiresAt: new Date(Date.now() - 1000).toISOString() });
        await raw().hset(`gw:{${tenant}}:keys`, record.keyId, JSON.stringify(record));
        await expect(store.listKeys(tenant)).resolves.toEqual([record]);
      });

      it('indexes keys by hash beside their metadata, and finds a record written before the index once', async () => {
        const tenant = `t-${uid()}`;
        const record = keyRecord();
        await store.addKey(tenant, record);
        await expect(raw().hget(`gw:{${tenant}}:keyIds`, record.hash)).resolves.toBe(record.keyId);
        const legacy = keyRecord();
        await raw().hset(`gw:{${tenant}}:keys`, legacy.keyId, JSON.stringify(legacy));
        await expect(store.keyByHash(tenant, legacy.hash)).resolves.toEqual(legacy);
        await expect(raw().hget(`gw:{${tenant}}:keyIds`, legacy.hash)).resolves.toBe(legacy.keyId);
      });

      it("keeps a key's own bucket beside the tenant's, in the same cluster slot", async () => {
        const tenant = `t-${uid()}`;
        await store.takeTokens(tenant, { windowSeconds: 60, maxRequests: 5 }, { keyId: 'key_abc', windowSeconds: 60, maxRequests: 2 }, 1);
        await expect(raw().hget(`gw:{${tenant}}:bucket:key_abc`, 'tokens')).resolves.toBe('1');
        await expect(raw().hget(`gw:{${tenant}}:bucket`, 'tokens')).resolves.toBe('4');
        const slot = (key: string) => (raw() as Redis).call('CLUSTER', 'KEYSLOT', key).catch(() => null);
        if (factory.isCluster) expect(await slot(`gw:{${tenant}}:bucket:key_abc`)).toBe(await slot(`gw:{${tenant}}:bucket`));
      });

      it('deletes every key of a tenant, its bucket included, and nothing of another', async () => {
        const [doomed, kept] = [`t-${uid()}`, `t-${uid()}`];
        const doomedKey = keyRecord();
        const keptKey = keyRecord();
        await store.putTenant(doomed, tenantJson(doomed));
        await store.putTenant(kept, tenantJson(kept));
        await store.addKey(doomed, doomedKey);
        await store.addKey(kept, keptKey);
        await raw().hset(`gw:{${doomed}}:bucket`, 'tokens', '5');
        await raw().hset(`gw:{${kept}}:bucket`, 'tokens', '5');
        await raw().hset(`gw:{${doomed}}:bucket:${doomedKey.keyId}`, 'tokens', '5');
        await raw().hset(`gw:{${kept}}:bucket:${keptKey.keyId}`, 'tokens', '5');

        await expect(store.deleteTenant(doomed)).resolves.toBe(true);
        const keysOf = (id: string, record: KeyRecord): string[] => [
          `tenant:${id}`,
          `tenant:byApiKey:${record.hash}`,
          `gw:{${id}}:keys`,
          `gw:{${id}}:keyIds`,
          `gw:{${id}}:bucket`,
          `gw:{${id}}:bucket:${record.keyId}`,
        ];
        for (const key of keysOf(doomed, doomedKey)) await expect(raw().exists(key)).resolves.toBe(0);
        for (const key of keysOf(kept, keptKey)) await expect(raw().exists(key)).resolves.toBe(1);
      });
    });
  }

  if (factory.isCluster) {
    it('lists tenants held by every master', async () => {
      const prefix = `spread-${uid()}-`;
      const ids = Array.from({ length: 24 }, (_, i) => `${prefix}${String(i).padStart(2, '0')}`);
      for (const id of ids) await store.putTenant(id, tenantJson(id));

      const holders = await Promise.all(
        (raw() as Cluster).nodes('master').map(async (node) => {
          const [, keys] = await node.scan('0', 'MATCH', `tenant:${prefix}*`, 'COUNT', 1000);
          return keys.length;
        }),
      );
      expect(holders.filter((n) => n > 0).length).toBeGreaterThan(1);
      const listed = await store.listTenantIds();
      expect(listed.filter((id) => id.startsWith(prefix))).toEqual(ids);
    });
  }
});
