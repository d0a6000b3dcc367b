import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { MemoryStore } from '../../src/store/memory/memory.store';
import { INVALIDATION_CHANNEL } from '../../src/store/redis/invalidation-bus';
import { createRedisStore, type RedisStore } from '../../src/store/redis/redis.store';
import { StoreUnavailableError, type Invalidation, type StateStore } from '../../src/store/store.port';
import { singleRedisConfig } from '../support/fixtures';
import { clusterOk, startRedisCluster, type RedisClusterHandle } from '../support/redis-cluster';
import { canOwnServer, freePort, startRedis, waitFor, type RedisHandle } from '../support/redis-server';

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

/** How many bus subscriber connections each node's client list shows; dead nodes are not asked. */
async function subscribersPerNode(nodes: { host: string; port: number }[]): Promise<Map<number, number>> {
  const counts = new Map<number, number>();
  for (const node of nodes) {
    const raw = new Redis(node.port, node.host, { maxRetriesPerRequest: 1, retryStrategy: () => null });
    try {
      const list = String(await raw.client('LIST')).split('\n');
      counts.set(node.port, list.filter((line) => / name=gw-invalidation /.test(line) && / sub=1 /.test(line)).length);
    } finally {
      raw.disconnect();
    }
  }
  return counts;
}

/** A store on the cluster that records its log events and what its listener hears. */
interface Watched {
  store: RedisStore;
  /** The bus's own log events (`invalidation_*`). */
  events: string[];
  heard: Invalidation[];
}

async function watchedStore(cluster: RedisClusterHandle): Promise<Watched> {
  const events: string[] = [];
  const cfg = { mode: 'cluster' as const, nodes: cluster.nodes, password: null, tls: TLS_OFF };
  const store = await readyStore(createRedisStore(cfg, (event) => event.startsWith('invalidation_') && events.push(event)));
  const heard = listen(store);
  await subscribed(heard);
  return { store, events, heard };
}

(canBuildCluster ? describe : describe.skip)('invalidation bus: redis cluster, the subscriber\'s node dies', () => {
  // Each test builds a cluster of its own and kills one of its nodes: nothing shared with other tests.
  let cluster: RedisClusterHandle | undefined;
  const stores: RedisStore[] = [];

  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
    await cluster?.stop();
    cluster = undefined;
  });

  it('moves to a surviving node, resyncs ("all"), then hears what is published there with the cluster down', async () => {
    // A short node timeout: the survivors soon mark the dead node failed and the cluster reports itself down.
    cluster = await startRedisCluster(3, 1000);
    const { store, events, heard } = await watchedStore(cluster);
    stores.push(store);
    const before = await subscribersPerNode(cluster.nodes);
    const dead = [...before].find(([, count]) => count === 1)?.[0];
    if (dead === undefined) throw new Error(`no node holds the subscriber: ${JSON.stringify([...before])}`);
    const resynced = resyncs(heard);

    await cluster.killNode(dead);
    await waitFor(() => resyncs(heard) > resynced, 10_000, `resync after the node died (events: ${events.join(', ')})`);
    const survivors = cluster.nodes.filter((n) => n.port !== dead);
    const after = await subscribersPerNode(survivors);
    expect([...after.values()].sort()).toEqual([0, 1]);

    // PUBLISH is not bound to a slot: a surviving node takes it even while the cluster is down.
    await waitFor(async () => !(await clusterOk(survivors[0].port)), 10_000, 'the cluster reports itself down', 200);
    const raw = new Redis(survivors[0].port, survivors[0].host, { maxRetriesPerRequest: 1 });
    try {
      const tenantId = `after-${uid()}`;
      await raw.publish(INVALIDATION_CHANNEL, JSON.stringify({ tenantId }));
      await waitFor(() => hasTenant(heard, tenantId), 1000, 'message published after the failover');
    } finally {
      raw.disconnect();
    }
  });

  it('closed in the middle of the failover, a store leaves no connection behind and hears nothing more', async () => {
    cluster = await startRedisCluster(3);
    // Four subscribers on three nodes: at least two share one, and are closed at different points of their failover.
    const watched = await Promise.all([0, 1, 2, 3].map(() => watchedStore(cluster!)));
    stores.push(...watched.map((w) => w.store));
    const before = await subscribersPerNode(cluster.nodes);
    const [dead, onDead] = [...before].reduce((a, b) => (b[1] > a[1] ? b : a));
    expect(onDead).toBeGreaterThanOrEqual(2);

    await cluster.killNode(dead);
    const lost = () => watched.filter((w) => w.events.includes('invalidation_subscription_lost'));
    await waitFor(() => lost().length === onDead, 5000, 'every subscriber of the dead node noticed');
    const closing = lost().map(async (w, i) => {
      // The first at once (its connection still retrying the dead node), the next while the bus waits to try
      // another node (after ~300 ms of retries, before ~800 ms), any third once it has moved on.
      if (i > 0) await new Promise((r) => setTimeout(r, 550 * i));
      const heardAtClose = w.heard.length;
      const eventsAtClose = w.events.length;
      await w.store.close();
      return { w, heardAtClose, eventsAtClose };
    });
    const closed = await Promise.all(closing);
    // Longer than a whole failover takes (three retries, then the next node).
    await new Promise((r) => setTimeout(r, 2000));

    for (const { w, heardAtClose, eventsAtClose } of closed) {
      expect(w.heard.length).toBe(heardAtClose);
      expect(w.events.slice(eventsAtClose)).toEqual([]);
    }
    // Only the stores still open hold a subscription, one each.
    const survivors = cluster.nodes.filter((n) => n.port !== dead);
    const after = await subscribersPerNode(survivors);
    expect([...after.values()].reduce((a, b) => a + b, 0)).toBe(watched.length - onDead);
  });
});
