import { Cluster, Redis, RedisOptions } from 'ioredis';
import { RedisConfig } from '../../config/config.types';

/** A standalone server (maybe found through Sentinel) or a cluster: both speak the same single-key commands. */
export type RedisClient = Redis | Cluster;

/** Where the Redis adapter reports connection events; the core module turns them into log lines. */
export type StoreLog = (event: string, detail?: Record<string, unknown>) => void;

/** Fail a command after this long rather than let a hung Redis hang the request. */
const COMMAND_TIMEOUT_MS = 1000;

/** Reconnect forever, backing off up to 2 s: Redis coming back must be picked up without a restart. */
export const reconnectDelay = (attempt: number): number => Math.min(50 * attempt, 2000);

/**
 * Options shared by every connection. No offline queue: while disconnected, commands fail at once
 * (the caller answers 503) instead of piling up; one retry across a reconnect, bounded by the timeout.
 */
const FAIL_FAST = {
  commandTimeout: COMMAND_TIMEOUT_MS,
  connectTimeout: 2000,
  // How long disconnect() waits for a graceful socket end; its timer outlives close() when Redis is already gone.
  disconnectTimeout: 500,
  maxRetriesPerRequest: 1,
} satisfies RedisOptions;

function tlsOf(cfg: RedisConfig, forced = false): RedisOptions['tls'] {
  return cfg.tls.enabled || forced ? { rejectUnauthorized: cfg.tls.rejectUnauthorized } : undefined;
}

/** Builds (and starts connecting) the ioredis client for the configuration; never throws on an unreachable server. */
export function createRedisClient(cfg: RedisConfig): RedisClient {
  if (cfg.mode === 'cluster') {
    return new Cluster(cfg.nodes, {
      lazyConnect: false,
      enableOfflineQueue: false,
      clusterRetryStrategy: reconnectDelay,
      redisOptions: {
        ...FAIL_FAST,
        password: cfg.password ?? undefined,
        tls: tlsOf(cfg),
      },
    });
  }
  if (cfg.mode === 'sentinel') {
    return new Redis({
      ...FAIL_FAST,
      lazyConnect: false,
      enableOfflineQueue: false,
      retryStrategy: reconnectDelay,
      sentinels: cfg.sentinels,
      name: cfg.name,
      sentinelPassword: cfg.sentinelPassword ?? undefined,
      // Keep asking the Sentinels (all of them down is an outage like any other), and learn new ones.
      sentinelRetryStrategy: reconnectDelay,
      sentinelCommandTimeout: COMMAND_TIMEOUT_MS,
      updateSentinels: true,
      // Listens for +switch-master, so a promotion is followed at once rather than at the next error.
      failoverDetector: true,
      password: cfg.password ?? undefined,
      db: cfg.db,
      tls: tlsOf(cfg),
      enableTLSForSentinelMode: cfg.tls.enabled,
      sentinelTLS: tlsOf(cfg),
    });
  }
  const options: RedisOptions = {
    ...FAIL_FAST,
    lazyConnect: false,
    enableOfflineQueue: false,
    retryStrategy: reconnectDelay,
    host: cfg.host,
    port: cfg.port,
    password: cfg.password ?? undefined,
    db: cfg.db,
    // A rediss:// URL means TLS even when REDIS_TLS was not set; the URL's own fields win over host/port/db.
    tls: tlsOf(cfg, cfg.url?.startsWith('rediss:') ?? false),
  };
  return cfg.url ? new Redis(cfg.url, options) : new Redis(options);
}
