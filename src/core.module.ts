import { DynamicModule, Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { GATEWAY_CONFIG, type GatewayConfig } from './config/config.types';
import { compileTrustProxy, TRUST_PROXY } from './http/forwarded';
import { JwksCache, type JwksCacheOptions } from './policy/steps/jwt/jwks-cache';
import { JwtVerifier } from './policy/steps/jwt/jwt-verifier';
import { Lifecycle } from './lifecycle/lifecycle.service';
import { LOGGER, type Logger } from './observability/logger';
import { Metrics, type JwksFetchResult, type StoreRole } from './observability/metrics';
import { PolicyPipeline, POLICY_PROVIDERS } from './policy/pipeline';
import { RateLimiter } from './policy/steps/rate-limit/rate-limiter';
import type { StoreLog } from './store/redis/redis.client';
import { createStateStore } from './store/store.factory';
import { STATE_STORE, type StateStore } from './store/store.port';
import { CacheInvalidator } from './tenants/cache-invalidator';
import { refreshAheadFor, TenantResolver } from './tenants/tenant-resolver';
import { TenantRepository } from './tenants/tenant.repository';
import { TenantsFileLoader } from './tenants/tenants-file.loader';

export interface CoreOptions {
  config: Readonly<GatewayConfig>;
  logger: Logger;
  /** JWKS timings other than the production defaults (tests use short cooldowns). */
  jwksCache?: Partial<JwksCacheOptions>;
}

/** How long start-up waits for the store's first connection before serving anyway (SPEC §10). */
const STARTUP_CONNECT_WAIT_MS = 3000;

/** The store's connection events as plain `system` lines; `event` keeps the machine-readable name. */
const STORE_EVENTS: Record<string, { level: 'info' | 'warn'; msg: string }> = {
  redis_ready: { level: 'info', msg: 'state store connected' },
  redis_down: { level: 'warn', msg: 'state store connection lost' },
  redis_error: { level: 'warn', msg: 'state store connection error' },
  invalidation_subscribed: { level: 'info', msg: 'cache invalidation subscribed: caches dropped' },
  invalidation_subscription_lost: { level: 'warn', msg: 'cache invalidation subscription lost' },
  invalidation_subscriber_error: { level: 'warn', msg: 'cache invalidation connection error' },
  invalidation_subscribe_failed: { level: 'warn', msg: 'cache invalidation subscribe failed' },
  invalidation_message_ignored: { level: 'warn', msg: 'malformed cache invalidation message ignored' },
  invalidation_listener_failed: { level: 'warn', msg: 'cache invalidation listener failed' },
};

/** `gateway_store_up{role}` (SPEC §8) follows the connection events: the pub/sub one is up while subscribed. */
const STORE_UP_EVENTS: Record<string, [StoreRole, 0 | 1]> = {
  redis_ready: ['command', 1],
  redis_down: ['command', 0],
  invalidation_subscribed: ['pubsub', 1],
  invalidation_subscription_lost: ['pubsub', 0],
};

/** The key-set cache's events as `gateway_jwks_fetches_total{result}` (SPEC §8). */
const JWKS_RESULTS: Record<string, JwksFetchResult> = { jwks_fetched: 'ok', jwks_fetch_failed: 'error', jwks_fetch_throttled: 'throttled' };

function storeLog(logger: Logger, metrics: Metrics): StoreLog {
  return (event, detail) => {
    const up = STORE_UP_EVENTS[event];
    if (up !== undefined) metrics.storeUp.set({ role: up[0] }, up[1]);
    const known = STORE_EVENTS[event];
    logger[known?.level ?? 'warn']({ category: 'system', store: 'redis', event, ...detail }, known?.msg ?? event);
  };
}

/** Resolves once the store is ready, or after `ms`: a Redis that is down must not stop the gateway starting. */
function firstConnection(store: StateStore, ms: number): Promise<void> {
  if (store.status() === 'ready') return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    store.onStatusChange((status) => {
      if (status !== 'ready') return;
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Closes the store last, after the planes have stopped using it. */
class StoreCloser implements OnApplicationShutdown {
  constructor(@Inject(STATE_STORE) private readonly store: StateStore) {}
  async onApplicationShutdown(): Promise<void> {
    await this.store.close();
  }
}

/** The shared core both planes build on: config, logger, metrics, state store, tenants, the policy pipeline, lifecycle. */
@Global()
@Module({})
export class CoreModule {
  static forRoot({ config, logger, jwksCache }: CoreOptions): DynamicModule {
    return {
      module: CoreModule,
      providers: [
        { provide: GATEWAY_CONFIG, useValue: config },
        { provide: LOGGER, useValue: logger },
        { provide: TRUST_PROXY, useValue: compileTrustProxy(config.trustProxy) },
        {
          provide: STATE_STORE,
          inject: [Metrics],
          useFactory: async (metrics: Metrics) => {
            const store = createStateStore(config, storeLog(logger, metrics));
            metrics.storeUp.set({ role: 'command' }, store.status() === 'ready' ? 1 : 0);
            if (store.kind === 'redis') metrics.storeUp.set({ role: 'pubsub' }, 0);
            metrics.probeStoreWith(() => store.ping());
            await firstConnection(store, STARTUP_CONNECT_WAIT_MS);
            return store;
          },
        },
        {
          provide: TenantRepository,
          inject: [STATE_STORE],
          useFactory: (store: StateStore) =>
            new TenantRepository(store, logger, { jwksAllowHttp: config.jwksAllowHttp }),
        },
        {
          provide: TenantResolver,
          inject: [STATE_STORE, TenantRepository],
          useFactory: (store: StateStore, repository: TenantRepository) =>
            new TenantResolver(store, repository, logger, {
              ttlMs: config.tenantCacheTtlMs,
              refreshAheadMs: refreshAheadFor(config.tenantCacheTtlMs),
            }),
        },
        CacheInvalidator,
        {
          provide: JwksCache,
          inject: [Metrics],
          useFactory: (metrics: Metrics) =>
            new JwksCache(jwksCache, (event, detail) => {
              metrics.jwksFetches.inc({ result: JWKS_RESULTS[event] });
              if (event === 'jwks_fetch_failed') logger.warn({ category: 'system', ...detail }, event);
              else logger.debug({ category: 'system', ...detail }, event);
            }),
        },
        JwtVerifier,
        Lifecycle,
        Metrics,
        RateLimiter,
        ...POLICY_PROVIDERS,
        TenantsFileLoader,
        StoreCloser,
      ],
      exports: [
        GATEWAY_CONFIG,
        LOGGER,
        TRUST_PROXY,
        STATE_STORE,
        TenantRepository,
        TenantResolver,
        CacheInvalidator,
        JwksCache,
        JwtVerifier,
        Lifecycle,
        Metrics,
        RateLimiter,
        PolicyPipeline,
      ],
    };
  }
}
