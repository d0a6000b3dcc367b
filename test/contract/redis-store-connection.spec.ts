import { Redis } from 'ioredis';
import { loadConfig } from '../../src/config/config.loader';
import { createStateStore } from '../../src/store/store.factory';
import { StoreUnavailableError, type StateStore } from '../../src/store/store.port';
import { freePort, spawnRedisServer, waitFor, type SpawnedServer } from '../support/redis-server';

/** The SPEC §9 Redis variables reach a real server: password, database number, URL form. */
const PASSWORD = 'c0nnection-test-pass';

describe('Redis connection settings (REDIS_HOST/PORT/PASSWORD/DB, REDIS_URL)', () => {
  let server: SpawnedServer;
  let port: number;
  let admin: Redis;
  const stores: StateStore[] = [];

  const open = async (env: Record<string, string>): Promise<StateStore> => {
    const store = createStateStore(loadConfig(env));
    stores.push(store);
    return store;
  };
  const ready = (store: StateStore) => waitFor(() => store.status() === 'ready', 5000, 'store ready');
  /** What db `db` holds at `key`, read with a separate authenticated client. */
  const rawGet = async (db: number, key: string): Promise<string | null> => {
    await admin.select(db);
    return admin.get(key);
  };

  beforeAll(async () => {
    port = await freePort();
    server = await spawnRedisServer(port);
    admin = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 1 });
    await admin.config('SET', 'requirepass', PASSWORD);
    await admin.auth(PASSWORD);
  });

  afterAll(async () => {
    await Promise.all(stores.map((s) => s.close()));
    admin.disconnect();
    await server.kill();
  });

  it('REDIS_HOST, REDIS_PORT, REDIS_PASSWORD and REDIS_DB: writes land in that database', async () => {
    const store = await open({ REDIS_HOST: '127.0.0.1', REDIS_PORT: String(port), REDIS_PASSWORD: PASSWORD, REDIS_DB: '3' });
    await ready(store);
    await store.putTenant('conn-db3', '{"id":"conn-db3"}');
    expect(await rawGet(3, 'tenant:conn-db3')).toBe('{"id":"conn-db3"}');
    expect(await rawGet(0, 'tenant:conn-db3')).toBeNull();
    expect(await store.getTenant('conn-db3')).toBe('{"id":"conn-db3"}');
  });

  it('REDIS_URL with a password and a database number', async () => {
    const store = await open({ REDIS_URL: `redis://:${PASSWORD}@127.0.0.1:${port}/5` });
    await ready(store);
    await store.putTenant('conn-db5', '{"id":"conn-db5"}');
    expect(await rawGet(5, 'tenant:conn-db5')).toBe('{"id":"conn-db5"}');
    expect(await rawGet(3, 'tenant:conn-db5')).toBeNull();
  });

  it('a wrong password: the store never turns ready, answers "unavailable" promptly, and does not crash', async () => {
    const store = await open({ REDIS_HOST: '127.0.0.1', REDIS_PORT: String(port), REDIS_PASSWORD: 'wrong-password-123' });
    await new Promise((r) => setTimeout(r, 1000));
    expect(store.status()).toBe('down');
    expect(await store.ping()).toBe(false);
    const started = Date.now();
    await expect(store.getTenant('anything')).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(Date.now() - started).toBeLessThan(2500);
  });
});
