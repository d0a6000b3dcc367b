import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { Cluster, Redis } from 'ioredis';
import { MemoryStore } from '../../src/store/memory/memory.store';
import { createRedisStore } from '../../src/store/redis/redis.store';
import { KeyRecord, StateStore } from '../../src/store/store.port';
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

  it('serves an expiring key until expiresAt, then neither looks it up nor lists it', async () => {
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
    await expect(store.listKeys(tenant)).resolves.toEqual([lasting]);
    await expect(store.lookupKey(lasting.hash)).resolves.toEqual({ tenantId: tenant, expiresAtMs: null });
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

      it('drops expired metadata when listing', async () => {
        const tenant = `t-${uid()}`;
        const record = keyRecord({ expiresAt: new Date(Date.now() - 1000).toISOString() });
        await raw().hset(`gw:{${tenant}}:keys`, record.keyId, JSON.stringify(record));
        await expect(store.listKeys(tenant)).resolves.toEqual([]);
        await expect(raw().hexists(`gw:{${tenant}}:keys`, record.keyId)).resolves.toBe(0);
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

        await expect(store.deleteTenant(doomed)).resolves.toBe(true);
        const keysOf = (id: string, record: KeyRecord): string[] => [
          `tenant:${id}`,
          `tenant:byApiKey:${record.hash}`,
          `gw:{${id}}:keys`,
          `gw:{${id}}:bucket`,
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
