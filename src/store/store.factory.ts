import { GatewayConfig } from '../config/config.types';
import { MemoryStore } from './memory/memory.store';
import type { StoreLog } from './redis/redis.client';
import { createRedisStore } from './redis/redis.store';
import { StateStore } from './store.port';

/** Redis when configured, else the embedded single-process store (the caller warns about that). */
export function createStateStore(cfg: GatewayConfig, log?: StoreLog): StateStore {
  return cfg.redis === null ? new MemoryStore() : createRedisStore(cfg.redis, log);
}
