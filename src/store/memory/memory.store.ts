import { byCreatedAt, expiryOf, isExpired, withChanges } from '../key-record.util';
import type { AuditHead, BucketLimit, BucketPair, BucketState, Invalidation, KeyBucket, KeyChanges, KeyLookup, KeyRecord, StateStore, StoreStatus, TokenRecord } from '../store.port';
import { MemoryAudit } from './memory-audit';
import { MemoryBuckets, type HeldLimit } from './memory-bucket';

/** A key's own bucket id: after the tenant's id and a character no tenant id has, so a tenant's buckets share a prefix. */
const keyBucketPrefix = (tenantId: string): string => `${tenantId}\u0000`;

interface Mapping {
  tenantId: string;
  expiresAtMs: number | null;
}

/**
 * The embedded single-process store: same semantics as the Redis adapter, state lives in this process only.
 * Expired keys are purged lazily, when read.
 */
export class MemoryStore implements StateStore {
  readonly kind = 'memory' as const;
  private readonly tenants = new Map<string, string>();
  /** sha256 hex -> owner and expiry (tenant:byApiKey:<hash>). */
  private readonly mappings = new Map<string, Mapping>();
  /** tenant id -> keyId -> record (gw:{<tenantId>}:keys). */
  private readonly keys = new Map<string, Map<string, KeyRecord>>();
  private readonly invalidationListeners: ((msg: Invalidation) => void)[] = [];
  /** Token hash -> record (gw:token:<hash>); the tenant's list is read from it. */
  private readonly tokens = new Map<string, TokenRecord>();
  private readonly audit = new MemoryAudit();
  /** gw:{<tenantId>}:bucket. */
  private readonly buckets = new MemoryBuckets();

  async getTenant(id: string): Promise<string | null> {
    return this.tenants.get(id) ?? null;
  }

  async putTenant(id: string, json: string, onlyIfAbsent = false): Promise<boolean> {
    if (onlyIfAbsent && this.tenants.has(id)) return false;
    this.tenants.set(id, json);
    return true;
  }

  async deleteTenant(id: string): Promise<boolean> {
    // Every mapping naming the tenant, listed or not, as the Redis adapter does.
    for (const [hash, mapping] of this.mappings) if (mapping.tenantId === id) this.mappings.delete(hash);
    this.keys.delete(id);
    this.buckets.delete(id);
    this.buckets.deleteWithPrefix(keyBucketPrefix(id));
    for (const [hash, token] of this.tokens) if (token.tenantId === id) this.tokens.delete(hash);
    return this.tenants.delete(id);
  }

  async listTenantIds(): Promise<string[]> {
    return [...this.tenants.keys()].sort();
  }

  async lookupKey(hash: string): Promise<KeyLookup | null> {
    const mapping = this.mappings.get(hash);
    if (!mapping) return null;
    if (isExpired(mapping.expiresAtMs, Date.now())) {
      this.mappings.delete(hash);
      return null;
    }
    return { tenantId: mapping.tenantId, expiresAtMs: mapping.expiresAtMs };
  }

  async addKey(tenantId: string, record: KeyRecord): Promise<void> {
    const expiresAtMs = expiryOf(record);
    this.purgeExpiredMappings();
    const records = this.keys.get(tenantId) ?? new Map<string, KeyRecord>();
    records.set(record.keyId, { ...record });
    this.keys.set(tenantId, records);
    this.mappings.set(record.hash, { tenantId, expiresAtMs });
  }

  async listKeys(tenantId: string): Promise<KeyRecord[]> {
    const records = this.keys.get(tenantId);
    if (!records) return [];
    return [...records.values()].map((record) => ({ ...record })).sort(byCreatedAt);
  }

  async keyByHash(tenantId: string, hash: string): Promise<KeyRecord | null> {
    for (const record of this.keys.get(tenantId)?.values() ?? []) if (record.hash === hash) return { ...record };
    return null;
  }

  async updateKey(tenantId: string, keyId: string, changes: KeyChanges): Promise<KeyRecord | null> {
    const records = this.keys.get(tenantId);
    const record = records?.get(keyId);
    if (!records || !record) return null;
    const next = withChanges(record, changes);
    const expiresAtMs = expiryOf(next);
    records.set(keyId, next);
    if (changes.expiresAt !== undefined) {
      // The mapping follows the new expiry; an expired one comes back unless the hash is another tenant's now.
      const mapping = this.mappings.get(record.hash);
      if (mapping === undefined || mapping.tenantId === tenantId) this.mappings.set(record.hash, { tenantId, expiresAtMs });
    }
    return { ...next };
  }

  async removeKey(tenantId: string, keyId: string): Promise<KeyRecord | null> {
    const records = this.keys.get(tenantId);
    const record = records?.get(keyId);
    if (!records || !record) return null;
    this.dropMappingIfOwned(record.hash, tenantId);
    records.delete(keyId);
    if (records.size === 0) this.keys.delete(tenantId);
    this.buckets.delete(keyBucketPrefix(tenantId) + keyId);
    return { ...record };
  }

  async addToken(record: TokenRecord): Promise<void> {
    this.tokens.set(record.hash, { ...record });
  }

  async tokenByHash(hash: string): Promise<TokenRecord | null> {
    const record = this.tokens.get(hash);
    if (record === undefined) return null;
    // An expired token no longer answers (Redis expires gw:token:<hash>); it stays listed until revoked.
    if (record.expiresAt !== null && Date.parse(record.expiresAt) <= Date.now()) return null;
    return { ...record };
  }

  async listTokens(tenantId: string): Promise<TokenRecord[]> {
    return [...this.tokens.values()]
      .filter((record) => record.tenantId === tenantId)
      .map((record) => ({ ...record }))
      .sort((x, y) => Date.parse(x.createdAt) - Date.parse(y.createdAt) || (x.tokenId < y.tokenId ? -1 : 1));
  }

  async removeToken(tenantId: string, tokenId: string): Promise<TokenRecord | null> {
    for (const [hash, record] of this.tokens) {
      if (record.tenantId !== tenantId || record.tokenId !== tokenId) continue;
      this.tokens.delete(hash);
      return { ...record };
    }
    return null;
  }

  async auditHead(): Promise<AuditHead> {
    return this.audit.current();
  }

  async appendAudit(expected: { seq: number; hash: string }, entryJson: string, hash: string, maxEntries: number): Promise<boolean> {
    return this.audit.append(expected, entryJson, hash, maxEntries);
  }

  async readAudit(fromSeq: number, count: number): Promise<(string | null)[]> {
    return this.audit.read(fromSeq, count);
  }

  /** One process, so the "bus" is its listeners, called at once. */
  async publishInvalidation(msg: Invalidation): Promise<void> {
    for (const listener of this.invalidationListeners) listener(msg);
  }

  onInvalidation(listener: (msg: Invalidation) => void): void {
    this.invalidationListeners.push(listener);
  }

  async takeToken(tenantId: string, capacity: number, windowSeconds: number, cost: 0 | 1): Promise<BucketState> {
    return this.buckets.take(tenantId, capacity, windowSeconds, cost);
  }

  async takeTokens(tenantId: string, tenant: BucketLimit, key: KeyBucket | null, cost: 0 | 1): Promise<BucketPair> {
    return this.takeTokensNow(tenantId, tenant, key, cost);
  }

  takeTokensNow(tenantId: string, tenant: BucketLimit, key: KeyBucket | null, cost: 0 | 1): BucketPair {
    const limits: HeldLimit[] = [{ id: tenantId, capacity: tenant.maxRequests, windowSeconds: tenant.windowSeconds }];
    if (key !== null) limits.push({ id: keyBucketPrefix(tenantId) + key.keyId, capacity: key.maxRequests, windowSeconds: key.windowSeconds });
    const { allowed, retryAfterSeconds, states } = this.buckets.takeAll(limits, cost);
    return { allowed, retryAfterSeconds, tenant: states[0], key: key === null ? null : states[1] };
  }

  async ping(): Promise<boolean> {
    return true;
  }

  status(): StoreStatus {
    return 'ready';
  }

  /** Never down, so listeners are never called. */
  onStatusChange(_listener: (status: StoreStatus) => void): void {}

  async close(): Promise<void> {}

  /** A mapping re-registered by another tenant is theirs now: leave it. */
  private dropMappingIfOwned(hash: string, tenantId: string): void {
    if (this.mappings.get(hash)?.tenantId === tenantId) this.mappings.delete(hash);
  }

  /** Bounds memory held by keys nobody looks up any more. */
  private purgeExpiredMappings(): void {
    const now = Date.now();
    for (const [hash, mapping] of this.mappings) if (isExpired(mapping.expiresAtMs, now)) this.mappings.delete(hash);
  }
}
