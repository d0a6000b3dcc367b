import type { Logger } from 'pino';
import { stateUnavailable, tenantMisconfigured } from '../errors/gateway-error';
import { StoreUnavailableError, type BucketLimit, type Invalidation, type KeyRecord, type KeyLookup, type StateStore } from '../store/store.port';
import { hashApiKey } from './api-key';
import { LruCache, type CacheEntry } from './lru-cache';
import { SingleFlight } from './single-flight';
import type { LoadedTenant, ServedTenant, TenantRepository } from './tenant.repository';

export interface ResolverOptions {
  ttlMs: number;
  /**
   * Within this long of an entry's freshness running out, a request served from it also starts
   * refreshing it in the background, so that a hot entry is renewed before anyone has to wait for
   * the store. 0 (the default): entries are read again only once stale.
   */
  refreshAheadMs?: number;
  maxTenants?: number;
  maxKeys?: number;
  maxUnknownKeys?: number;
}

/** What the data plane needs of a key's metadata (SPEC §13); never its hash. */
export interface KeyMeta {
  keyId: string;
  disabled: boolean;
  rateLimit: BucketLimit | null;
  /** Epoch ms when the key stops working (null: never); an open WebSocket of the key is closed then. */
  expiresAtMs?: number | null;
}

/** A key hash's answer: its tenant, and its metadata (null for a mapping written by hand without any). */
interface KeyEntry {
  tenantId: string;
  key: KeyMeta | null;
}

/** The tenant an API key serves, with the key's own metadata. */
export type ServedKey = ServedTenant & { key: KeyMeta | null };

/**
 * The refresh-ahead window the gateway runs with: the last fifth of TENANT_CACHE_TTL_MS. A hot entry
 * is then read about every 0.8 TTL instead of every TTL, and no answer is older than the TTL.
 */
export const refreshAheadFor = (ttlMs: number): number => Math.floor(ttlMs / 5);

/**
 * API key -> tenant, with bounded in-process caches so a cached tenant costs no store round trip:
 * key hash -> tenant id (never kept past the key's expiry), tenant id -> validated tenant, and a
 * separate negative cache so a flood of unknown keys cannot evict the good ones.
 * While the store is down, stale entries are served (SPEC §10); with nothing cached it is a 503.
 * Store reads are single-flight: however many requests miss on one key hash or tenant id at once
 * (a hot entry going stale under load), one read goes to the store and they all share its answer.
 * With refreshAheadMs, an entry in use is renewed in the background shortly before it goes stale;
 * it is never served stale for that (SPEC §6: a change written into Redis shows within the TTL).
 */
export class TenantResolver {
  /** Key hash -> tenant id and key metadata; the key's own expiry is the entry's hardExpiry. */
  private readonly keys: LruCache<string, KeyEntry>;
  private readonly unknownKeys: LruCache<string, true>;
  private readonly tenants: LruCache<string, LoadedTenant | null>;
  /**
   * Bumped by every invalidation: a store read that was in flight when it happened may carry the old
   * state, so its answer is used but not cached.
   */
  private epoch = 0;
  /** The store read in flight per key hash / tenant id; cleared by invalidations along with the caches. */
  private readonly keyReads = new SingleFlight<string, (KeyLookup & { key: KeyMeta | null }) | null>();
  private readonly tenantReads = new SingleFlight<string, LoadedTenant | null>();
  private readonly refreshAheadMs: number;
  /** Told of every invalidation once the caches have dropped what it names (open WebSockets re-check). */
  private readonly invalidationListeners: ((msg: Invalidation) => void)[] = [];

  constructor(
    private readonly store: StateStore,
    private readonly repository: TenantRepository,
    private readonly logger: Logger,
    private readonly options: ResolverOptions,
  ) {
    this.keys = new LruCache(options.maxKeys ?? 100_000);
    this.unknownKeys = new LruCache(options.maxUnknownKeys ?? 10_000);
    this.tenants = new LruCache(options.maxTenants ?? 10_000);
    this.refreshAheadMs = options.refreshAheadMs ?? 0;
  }

  /** The tenant of an API key with the key's metadata, or null for an unknown key. Throws GatewayError 500/503. */
  resolveApiKey(apiKey: string): Promise<ServedKey | null> {
    return this.resolveKeyHash(hashApiKey(apiKey));
  }

  /** resolveApiKey for a key already hashed (hashApiKey). */
  async resolveKeyHash(hash: string): Promise<ServedKey | null> {
    const now = Date.now();
    const entry = await this.lookupKey(hash, now);
    if (entry === null) return null;
    const served = await this.resolveTenant(entry.tenantId, now);
    return served === null ? null : { kind: 'ok', tenant: served.tenant, key: entry.key };
  }

  /**
   * The answer of resolveKeyHash from fresh cache entries alone, without a promise: the hot path of a
   * known key. undefined when the store has to be read (then call resolveKeyHash). Renews entries
   * ahead of time exactly as resolveKeyHash does. Throws GatewayError 500 for an invalid tenant.
   */
  cachedKeyHash(hash: string, now = Date.now()): ServedKey | null | undefined {
    const entry = this.keys.get(hash, now);
    if (entry === undefined || entry.freshUntil <= now) {
      const unknown = this.unknownKeys.get(hash, now);
      if (unknown === undefined || unknown.freshUntil <= now) return undefined;
      if (this.dueForRefresh(unknown, now)) this.keyReads.start(hash, () => this.readKey(hash, now));
      return null;
    }
    const { tenantId, key } = entry.value;
    const tenant = this.tenants.get(tenantId, now);
    if (tenant === undefined || tenant.freshUntil <= now) return undefined;
    if (this.dueForRefresh(entry, now)) this.keyReads.start(hash, () => this.readKey(hash, now));
    if (this.dueForRefresh(tenant, now)) this.tenantReads.start(tenantId, () => this.loadTenant(tenantId, now));
    const served = this.usable(tenant.value);
    return served === null ? null : { kind: 'ok', tenant: served.tenant, key };
  }

  /** The tenant with this id (cached), or null. Throws GatewayError 500/503. */
  async resolveTenant(tenantId: string, now = Date.now()): Promise<ServedTenant | null> {
    const cached = this.tenants.get(tenantId, now);
    if (cached !== undefined && cached.freshUntil > now) {
      if (this.dueForRefresh(cached, now)) this.tenantReads.start(tenantId, () => this.loadTenant(tenantId, now));
      return this.usable(cached.value);
    }
    let loaded: LoadedTenant | null;
    try {
      loaded = await this.tenantReads.run(tenantId, () => this.loadTenant(tenantId, now));
    } catch (err) {
      if (err instanceof StoreUnavailableError && cached !== undefined) return this.usable(cached.value);
      throw stateUnavailable();
    }
    // Outside the try: an invalid tenant is a 500 tenant_misconfigured, not a store failure (503).
    return this.usable(loaded);
  }

  /**
   * Drops what a change may have made wrong: everything for `{ all: true }` (messages may have been
   * missed); for one tenant, its entry, the key mappings naming it (a revoked key), and every unknown
   * key (a key just created may have been cached as unknown). Then tells the listeners.
   */
  invalidate(msg: Invalidation): void {
    this.epoch++;
    this.forgetReads();
    this.unknownKeys.clear();
    if ('all' in msg) {
      this.keys.clear();
      this.tenants.clear();
    } else {
      this.tenants.delete(msg.tenantId);
      this.keys.deleteWhere((entry) => entry.tenantId === msg.tenantId);
    }
    for (const listener of this.invalidationListeners) listener(msg);
  }

  /** Calls `listener` after each invalidation, once the caches have dropped what it names. */
  onInvalidated(listener: (msg: Invalidation) => void): void {
    this.invalidationListeners.push(listener);
  }

  /** The tenant id an API key hash maps to with the key's metadata, or null for an unknown key. */
  private async lookupKey(hash: string, now: number): Promise<KeyEntry | null> {
    const cached = this.keys.get(hash, now);
    if (cached !== undefined && cached.freshUntil > now) {
      if (this.dueForRefresh(cached, now)) this.keyReads.start(hash, () => this.readKey(hash, now));
      return cached.value;
    }
    const unknown = this.unknownKeys.get(hash, now);
    if (unknown !== undefined && unknown.freshUntil > now) {
      if (this.dueForRefresh(unknown, now)) this.keyReads.start(hash, () => this.readKey(hash, now));
      return null;
    }
    let found: (KeyLookup & { key: KeyMeta | null }) | null;
    try {
      found = await this.keyReads.run(hash, () => this.readKey(hash, now));
    } catch (err) {
      if (err instanceof StoreUnavailableError) {
        if (cached !== undefined) return cached.value;
        if (unknown !== undefined) return null;
      }
      throw stateUnavailable();
    }
    if (found === null) return null;
    // A shared read may have started before this request: a key that had expired by the time the
    // request arrived is refused, exactly as the cache refuses it.
    if (found.expiresAtMs !== null && found.expiresAtMs <= now) return null;
    return found;
  }

  /**
   * The one store read of a key hash that concurrent requests share; caches its answer unless an
   * invalidation arrived while it was in flight.
   */
  private async readKey(hash: string, now: number): Promise<(KeyLookup & { key: KeyMeta | null }) | null> {
    const epoch = this.epoch;
    let found: (KeyLookup & { key: KeyMeta | null }) | null;
    try {
      const lookup = await this.store.lookupKey(hash);
      // The metadata lives beside the tenant (SPEC §13): a second read, on a cache miss of a known key only.
      found = lookup === null ? null : { ...lookup, key: metaOf(await this.store.keyByHash(lookup.tenantId, hash)) };
    } catch (err) {
      throw this.reported(err);
    }
    if (epoch !== this.epoch) return found;
    if (found === null) {
      this.keys.delete(hash);
      this.unknownKeys.set(hash, true, now + this.options.ttlMs);
    } else {
      this.keys.set(hash, { tenantId: found.tenantId, key: found.key }, now + this.options.ttlMs, found.expiresAtMs ?? Infinity);
      this.unknownKeys.delete(hash);
    }
    return found;
  }

  /** The one load of a tenant that concurrent requests share; cached like readKey's answer. */
  private async loadTenant(tenantId: string, now: number): Promise<LoadedTenant | null> {
    const epoch = this.epoch;
    let loaded: LoadedTenant | null;
    try {
      loaded = await this.repository.load(tenantId);
    } catch (err) {
      throw this.reported(err);
    }
    if (epoch === this.epoch) this.tenants.set(tenantId, loaded, now + this.options.ttlMs);
    return loaded;
  }

  /** A fresh entry close enough to going stale that a request using it renews it in the background. */
  private dueForRefresh(entry: CacheEntry<unknown>, now: number): boolean {
    return entry.freshUntil - this.refreshAheadMs <= now;
  }

  /** A request arriving after an invalidation must not get an answer read before it. */
  private forgetReads(): void {
    this.keyReads.clear();
    this.tenantReads.clear();
  }

  private usable(loaded: LoadedTenant | null): ServedTenant | null {
    if (loaded !== null && loaded.kind === 'invalid') throw tenantMisconfigured();
    return loaded;
  }

  /**
   * Logs a store failure the adapter did not classify (once per shared read, not once per request
   * waiting on it) and hands it on; every waiting request turns it into its own 503.
   */
  private reported(err: unknown): unknown {
    if (!(err instanceof StoreUnavailableError)) this.logger.error({ category: 'system', err }, 'tenant lookup failed');
    return err;
  }
}

function metaOf(record: KeyRecord | null): KeyMeta | null {
  if (record === null) return null;
  const expiresAtMs = record.expiresAt === null ? null : Date.parse(record.expiresAt);
  return { keyId: record.keyId, disabled: record.disabled === true, rateLimit: record.rateLimit ?? null, expiresAtMs: Number.isNaN(expiresAtMs) ? null : expiresAtMs };
}
