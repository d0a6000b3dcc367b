import { createHash } from 'node:crypto';
import { createRedisStore, RedisStore } from '../../src/store/redis/redis.store';
import { BUCKET_BUDGET_MS, StoreStatus, StoreUnavailableError } from '../../src/store/store.port';
import { canOwnServer, RedisHandle, startRedis, waitFor } from '../support/redis-server';
import { singleRedisConfig } from '../support/fixtures';

/** Redis going away (stopped, hung, absent at start) must never crash or hang the process, and must heal. */

const record = {
  keyId: 'k_outage',
  hash: createHash('sha256').update('sk_outage').digest('hex'),
  createdAt: '2024-01-01T00:00:00.000Z',
  expiresAt: null,
};

/** Every operation of the port, each expected to reject quickly while Redis cannot answer. */
function everyOperation(store: RedisStore): Promise<unknown>[] {
  return [
    store.getTenant('acme'),
    store.putTenant('acme', '{}'),
    store.putTenant('acme', '{}', true),
    store.deleteTenant('acme'),
    store.listTenantIds(),
    store.lookupKey(record.hash),
    store.addKey('acme', record),
    store.listKeys('acme'),
    store.removeKey('acme', record.keyId),
  ];
}

async function expectFastUnavailable(store: RedisStore, withinMs: number): Promise<void> {
  const started = Date.now();
  const results = await Promise.allSettled(everyOperation(store));
  expect(Date.now() - started).toBeLessThan(withinMs);
  for (const result of results) {
    expect(result.status).toBe('rejected');
    if (result.status === 'rejected') expect(result.reason).toBeInstanceOf(StoreUnavailableError);
  }
}

// Stopping and restarting needs a redis-server of our own; a REDIS_URL server is not ours to stop.
(canOwnServer ? describe : describe.skip)('RedisStore when Redis is unavailable', () => {
  let redis: RedisHandle;
  let store: RedisStore | null = null;
  const statuses: StoreStatus[] = [];
  const events: string[] = [];

  const open = (): RedisStore => {
    const cfg = singleRedisConfig(redis);
    const created = createRedisStore(cfg, (event) => events.push(event));
    created.onStatusChange((status) => statuses.push(status));
    return created;
  };

  beforeEach(async () => {
    statuses.length = 0;
    events.length = 0;
    redis = await startRedis({ ownServer: true });
  });

  afterEach(async () => {
    await store?.close();
    store = null;
    await redis.stop();
  });

  it('goes down when Redis stops, fails fast meanwhile, and recovers when it returns', async () => {
    store = open();
    await waitFor(() => store!.status() === 'ready', 5000, 'ready');
    await store.putTenant('acme', '{"v":1}');

    await redis.stop();
    await waitFor(() => store!.status() === 'down', 3000, 'down after the server stopped');
    await expect(store.ping()).resolves.toBe(false);
    await expectFastUnavailable(store, 2500);
    // Reconnect failures reach our 'error' listener (logged), not the process.
    await waitFor(() => events.includes('redis_error'), 2000, 'a logged reconnect error');

    await redis.restart();
    await waitFor(() => store!.status() === 'ready', 5000, 'ready again after restart');
    await expect(store.ping()).resolves.toBe(true);
    await expect(store.putTenant('acme', '{"v":2}', true)).resolves.toBe(true);
    await expect(store.getTenant('acme')).resolves.toBe('{"v":2}');
    expect(statuses).toEqual(['ready', 'down', 'ready']);
  });

  it('fails fast while Redis is hung', async () => {
    store = open();
    await waitFor(() => store!.status() === 'ready', 5000, 'ready');
    // CLIENT PAUSE ALL stands in for a hung server; it lifts itself after the given time.
    await redis.client().call('CLIENT', 'PAUSE', '1800', 'ALL');

    const started = Date.now();
    const [alive] = await Promise.all([store.ping(), expectFastUnavailable(store, 2500)]);
    expect(alive).toBe(false);

    await new Promise((r) => setTimeout(r, Math.max(0, started + 1900 - Date.now())));
    await expect(store.getTenant('missing')).resolves.toBeNull();
  });

  it('answers a bucket take within its budget while Redis is hung', async () => {
    store = open();
    await waitFor(() => store!.status() === 'ready', 5000, 'ready');
    await redis.client().call('CLIENT', 'PAUSE', '800', 'ALL');
    const started = Date.now();

    await expect(store.takeToken('acme', 10, 60, 1)).rejects.toThrow(new StoreUnavailableError(`no bucket answer within ${BUCKET_BUDGET_MS} ms`));
    // Let the pause lift before the store is closed.
    await new Promise((r) => setTimeout(r, Math.max(0, started + 900 - Date.now())));
  });

  it('starts while Redis is down and connects once it comes up', async () => {
    await redis.stop();
    store = open();
    expect(store.status()).toBe('down');
    await expect(store.ping()).resolves.toBe(false);
    await expectFastUnavailable(store, 2500);

    await redis.restart();
    await waitFor(() => store!.status() === 'ready', 5000, 'ready once the server is up');
    await expect(store.putTenant('late', '{}')).resolves.toBe(true);
    expect(statuses).toEqual(['ready']);
  });

  it('closes promptly even when Redis is down', async () => {
    store = open();
    await waitFor(() => store!.status() === 'ready', 5000, 'ready');
    await redis.stop();

    const started = Date.now();
    await store.close();
    expect(Date.now() - started).toBeLessThan(2000);
    expect(store.status()).toBe('down');
    await expect(store.getTenant('acme')).rejects.toBeInstanceOf(StoreUnavailableError);
  });
});
