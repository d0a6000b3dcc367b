import type { Logger } from 'pino';
import { stateUnavailable, tenantMisconfigured } from '../errors/gateway-error';
import { StoreUnavailableError, type Invalidation, type StateStore } from '../store/store.port';
import { hashApiKey } from './api-key';
import { LruCache } from './lru-cache';
import type { LoadedTenant, ServedTenant, TenantRepository } from './tenant.repository';

export interface ResolverOptions {
  ttlMs: number;
  maxTenants?: number;
  maxKeys?: number;
  maxUnknownKeys?: number;
}

/**
 * API key -> tenant, with bounded in-process caches so a cached tenant costs no store round trip:
 * key hash -> tenant id (never kept past the key's expiry), tenant id -> validated tenant, and a
 * separate negative cache so a flood of unknown keys cannot evict the good ones.
 * While the store is down, stale entries are served (SPEC §10); with nothing cached it is a 503.
 */
export class TenantResolver {
  /** Key hash -> tenant id; the key's own expiry is the entry's hardExpiry. */
  private readonly keys: LruCache<string, string>;
  private readonly unknownKeys: LruCache<string, true>;
  private readonly tenants: LruCache<string, LoadedTenant | null>;
  /**
   * Bumped by every invalidation: a store read that was in flight when it happened may carry the old
   * state, so its answer is used but not cached.
   */
  private epoch = 0;

  constructor(
    private readonly store: StateStore,
    private readonly repository: TenantRepository,
    private readonly logger: Logger,
    private readonly options: ResolverOptions,
  ) {
    this.keys = new LruCache(options.maxKeys ?? 100_000);
    this.unknownKeys = new LruCache(options.maxUnknownKeys ?? 10_000);
    this.tenants = new LruCache(options.maxTenants ?? 10_000);
  }

  /** The tenant of an API key, or null for an unknown key. Throws GatewayError 500/503. */
  async resolveApiKey(apiKey: string): Promise<ServedTenant | null> {
    const hash = hashApiKey(apiKey);
    const now = Date.now();
    const tenantId = await this.lookupKey(hash, now);
    if (tenantId === null) return null;
    return this.resolveTenant(tenantId, now);
  }

  /** The tenant with this id (cached), or null. Throws GatewayError 500/503. */
  async resolveTenant(tenantId: string, now = Date.now()): Promise<ServedTenant | null> {
    const cached = this.tenants.get(tenantId, now);
    if (cached !== undefined && cached.freshUntil > now) return this.usable(cached.value);
    let loaded: LoadedTenant | null;
    const epoch = this.epoch;
    try {
      loaded = await this.repository.load(tenantId);
    } catch (err) {
      if (err instanceof StoreUnavailableError && cached !== undefined) return this.usable(cached.value);
      throw this.mapStoreError(err);
    }
    if (epoch === this.epoch) this.tenants.set(tenantId, loaded, now + this.options.ttlMs);
    // Outside the try: an invalid tenant is a 500 tenant_misconfigured, not a store failure (503).
    return this.usable(loaded);
  }

  /** Drops every cached answer (used when caches may be out of date). */
  invalidateAll(): void {
    this.epoch++;
    this.keys.clear();
    this.unknownKeys.clear();
    this.tenants.clear();
  }

  /**
   * Drops what a change may have made wrong. For one tenant: its entry, the key mappings naming it
   * (a revoked key), and every unknown key (a key just created may have been cached as unknown).
   */
  invalidate(msg: Invalidation): void {
    if ('all' in msg) return this.invalidateAll();
    this.epoch++;
    this.tenants.delete(msg.tenantId);
    this.keys.deleteWhere((tenantId) => tenantId === msg.tenantId);
    this.unknownKeys.clear();
  }

  /** The tenant id an API key hash maps to, or null for an unknown key. */
  private async lookupKey(hash: string, now: number): Promise<string | null> {
    const cached = this.keys.get(hash, now);
    if (cached !== undefined && cached.freshUntil > now) return cached.value;
    const unknown = this.unknownKeys.get(hash, now);
    if (unknown !== undefined && unknown.freshUntil > now) return null;
    const epoch = this.epoch;
    try {
      const found = await this.store.lookupKey(hash);
      const current = epoch === this.epoch;
      if (found === null) {
        if (current) {
          this.keys.delete(hash);
          this.unknownKeys.set(hash, true, now + this.options.ttlMs);
        }
        return null;
      }
      if (current) {
        this.keys.set(hash, found.tenantId, now + this.options.ttlMs, found.expiresAtMs ?? Infinity);
        this.unknownKeys.delete(hash);
      }
      return found.tenantId;
    } catch (err) {
      if (err instanceof StoreUnavailableError) {
        if (cached !== undefined) return cached.value;
        if (unknown !== undefined) return null;
      }
      throw this.mapStoreError(err);
    }
  }

  private usable(loaded: LoadedTenant | null): ServedTenant | null {
    if (loaded !== null && loaded.kind === 'invalid') throw tenantMisconfigured();
    return loaded;
  }

  private mapStoreError(err: unknown): Error {
    if (err instanceof StoreUnavailableError) return stateUnavailable();
    this.logger.error({ category: 'system', err }, 'tenant lookup failed');
    return stateUnavailable();
  }
}
