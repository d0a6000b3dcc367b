import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { MemoryStore } from '../../src/store/memory/memory.store';
import { INVALIDATION_CHANNEL } from '../../src/store/redis/invalidation-bus';
import { createRedisStore, type RedisStore } from '../../src/store/redis/redis.store';
import { StoreUnavailableError, type Invalidation, type StateStore } from '../../src/store/store.port';
import { singleRedisConfig } from '../support/fixtures';
import { startRedisCluster, type RedisClusterHandle } from '../support/redis-cluster';
import { freePort, startRedis, waitFor, type RedisHandle } from '../support/redis-server';

/**
 * The invalidation bus of the StateStore port (SPEC §6: control-plane changes reach every replica
 * within 1 s): what one store publishes, every store on the same backend hears, the publisher
 * included; a (re)established subscription announces itself as `{ all: true }`.
 */

const TLS_OFF = { enabled: false, rejectUnauthorized: true };
const uid = (): string => randomBytes(4).toString('hex');

/** Records what a store's listener hears. */
function listen(store: StateStore): Invalidation[] {
  const heard: Invalidation[] = [];
  store.onInvalidation((msg) => heard.push(msg));
  return heard;
}

const hasTenant = (heard: Invalidation[], tenantId: string) => heard.some((m) => 'tenantId' in m && m.tenantId === tenantId);
const resyncs = (heard: Invalidation[]) => heard.filter((m) => 'all' in m).length;

/** Waits until both listeners are subscribed (each says so with its first resync). */
async function subscribed(...heard: Invalidation[][]): Promise<void> {
  await waitFor(() => heard.every((h) => resyncs(h) >= 1), 10_000, 'subscriptions established');
}

async function readyStore(store: RedisStore): Promise<RedisStore> {
  await waitFor(() => store.status() === 'ready', 10_000, 'store ready');
  return store;
}

describe('invalidation bus: memory store', () => {
  it('delivers to every listener of the process at once, the publisher included', async () => {
    const store = new MemoryStore();
    const first = listen(store);
    const second = listen(store);
    await store.publishInvalidation({ tenantId: 'acme' });
    await store.publishInvalidation({ all: true });
    expect(first).toEqual([{ tenantId: 'acme' }, { all: true }]);
    expect(second).toEqual(first);
  });
});

const canOwnServer = spawnSync('redis-server', ['--version']).status === 0;
const canBuildCluster = canOwnServer && spawnSync('redis-cli', ['--version']).status === 0;

describe('invalidation bus: redis', () => {
  let redis: RedisHandle;
  const stores: RedisStore[] = [];
  const open = async (): Promise<RedisStore> => {
    const store = await readyStore(createRedisStore(singleRedisConfig(redis)));
    stores.push(store);
    return store;
  };

  beforeAll(async () => {
    redis = await startRedis();
  });

  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
  });

  afterAll(async () => {
    await redis?.stop();
  });

  it('carries a tenant change and "all" from one store to another, and back to the publisher', async () => {
    const a = await open();
    const b = await open();
    const heardA = listen(a);
    const heardB = listen(b);
    await subscribed(heardA, heardB);
    const tenantId = `t-${uid()}`;
    await a.publishInvalidation({ tenantId });
    await waitFor(() => hasTenant(heardB, tenantId) && hasTenant(heardA, tenantId), 1000, 'tenant message heard by both');
    const before = resyncs(heardB);
    await b.publishInvalidation({ all: true });
    await waitFor(() => resyncs(heardB) > before, 1000, '"all" heard');
  });

  it('uses a channel of its own and ignores foreign or malformed messages on it', async () => {
    const a = await open();
    const heard = listen(a);
    await subscribed(heard);
    const raw = redis.client();
    const count = heard.length;
    await raw.publish(INVALIDATION_CHANNEL, 'not json');
    await raw.publish(INVALIDATION_CHANNEL, JSON.stringify({ tenantId: 42 }));
    await raw.publish('tenant:acme', JSON.stringify({ all: true }));
    const tenantId = `t-${uid()}`;
    await raw.publish(INVALIDATION_CHANNEL, JSON.stringify({ tenantId }));
    await waitFor(() => hasTenant(heard, tenantId), 1000, 'the well-formed message');
    // Messages on one connection arrive in order: the three before it were dropped.
    expect(heard.slice(count)).toEqual([{ tenantId }]);
    expect(INVALIDATION_CHANNEL.startsWith('tenant:')).toBe(false);
  });

  it('publishing without a reachable Redis throws StoreUnavailableError', async () => {
    const port = await freePort();
    const store = createRedisStore(singleRedisConfig({ url: `redis://127.0.0.1:${port}`, port }));
    stores.push(store);
    await expect(store.publishInvalidation({ all: true })).rejects.toBeInstanceOf(StoreUnavailableError);
  });

  (canOwnServer ? it : it.skip)('resyncs ("all") after Redis restarts, then hears messages again', async () => {
    const own = await startRedis({ ownServer: true });
    try {
      const a = await readyStore(createRedisStore(singleRedisConfig(own)));
      const b = await readyStore(createRedisStore(singleRedisConfig(own)));
      stores.push(a, b);
      const heardB = listen(b);
      await subscribed(heardB);
      const before = resyncs(heardB);

      await own.restart();
      await waitFor(() => resyncs(heardB) > before, 10_000, 'resync after the restart');
      await readyStore(a);
      const tenantId = `t-${uid()}`;
      await a.publishInvalidation({ tenantId });
      await waitFor(() => hasTenant(heardB, tenantId), 1000, 'message after the restart');
    } finally {
      await Promise.all(stores.splice(0).map((s) => s.close()));
      await own.stop();
    }
  });
});

(canBuildCluster ? describe : describe.skip)('invalidation bus: redis cluster (3 masters)', () => {
  let cluster: RedisClusterHandle;

  beforeAll(async () => {
    cluster = await startRedisCluster(3);
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it('carries messages between stores whatever node each publishes to or listens on', async () => {
    const open = () =>
      readyStore(createRedisStore({ mode: 'cluster', nodes: cluster.nodes, password: null, tls: TLS_OFF }));
    const stores = await Promise.all([open(), open(), open()]);
    try {
      const heard = stores.map(listen);
      await subscribed(...heard);
      for (const [i, store] of stores.entries()) {
        const tenantId = `t${i}-${uid()}`;
        await store.publishInvalidation({ tenantId });
        await waitFor(() => heard.every((h) => hasTenant(h, tenantId)), 1000, `message from store ${i} heard by all`);
      }
      // Published on each master in turn: wherever a subscriber sits, the cluster bus brings it the message.
      for (const node of cluster.nodes) {
        const raw = new Redis(node.port, node.host, { maxRetriesPerRequest: 1 });
        try {
          const tenantId = `n${node.port}-${uid()}`;
          await raw.publish(INVALIDATION_CHANNEL, JSON.stringify({ tenantId }));
          await waitFor(() => heard.every((h) => hasTenant(h, tenantId)), 1000, `message via node ${node.port} heard by all`);
        } finally {
          raw.disconnect();
        }
      }
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });
});
