/**
 * The state-store contract. Both adapters (Redis, embedded memory) implement it and pass the same
 * contract suite. No ioredis types leak past this file.
 *
 * Layout (SPEC §4), shared with hand-written data:
 *   tenant:<tenantId>                 tenant JSON string
 *   tenant:byApiKey:<sha256 hex>      tenant id (optionally with a Redis expiry = key expiry)
 * Keys of our own, hash-tagged by tenant so per-tenant keys share one cluster slot:
 *   gw:{<tenantId>}:keys              hash keyId -> KeyRecord JSON
 *   gw:{<tenantId>}:keyIds            hash sha256 hex -> keyId (finds a key's metadata from its hash)
 *   gw:{<tenantId>}:bucket            rate-limit token bucket: hash {tokens, ts}, expires once full again
 *   gw:{<tenantId>}:bucket:<keyId>    a key's own bucket (SPEC §13), same slot as the tenant's
 *   gw:{<tenantId>}:tokens            hash tokenId -> TokenRecord JSON (tenant-scoped admin tokens, SPEC §12)
 *   gw:token:<sha256 hex>             TokenRecord JSON of the token with that hash (expiring with it)
 *   gw:{audit}:head                   hash {seq, hash, first}: the audit log's head, apart from its entries (SPEC §14)
 *   gw:{audit}:entries                hash seq -> audit entry JSON (one slot with the head)
 *   gw:invalidate                     pub/sub channel: cache invalidations between replicas
 */
export const STATE_STORE = Symbol('STATE_STORE');

export interface KeyRecord {
  keyId: string;
  /** SHA-256 hex of the API key. Never returned by the admin API. */
  hash: string;
  createdAt: string;
  expiresAt: string | null;
  /** SPEC §13: a label, a suspension flag and a per-key limit; absent in records written before them. */
  name?: string | null;
  disabled?: boolean;
  rateLimit?: BucketLimit | null;
}

/** A tenant-scoped admin token (SPEC §12); the token itself is never stored, only its SHA-256. */
export interface TokenRecord {
  tokenId: string;
  tenantId: string;
  /** SHA-256 hex of the token. Never returned by the admin API. */
  hash: string;
  role: 'admin' | 'viewer';
  name: string | null;
  createdAt: string;
  expiresAt: string | null;
}

/** The audit log's head (SPEC §14): the newest seq and hash, and the oldest seq still kept. */
export interface AuditHead {
  /** 0 for an empty log. */
  seq: number;
  /** The newest entry's hash; 64 zeros for an empty log. */
  hash: string;
  /** The oldest seq kept (entries before it were trimmed); seq + 1 for an empty log. */
  first: number;
}

export const AUDIT_ZERO_HASH = '0'.repeat(64);

/** A PATCH of a key's metadata (SPEC §13): each field present replaces the stored one, null clears it. */
export interface KeyChanges {
  name?: string | null;
  rateLimit?: BucketLimit | null;
  expiresAt?: string | null;
  disabled?: boolean;
}

/** A bucket's size and refill window (a tenant's or a key's `rateLimit`). */
export interface BucketLimit {
  windowSeconds: number;
  maxRequests: number;
}

export interface KeyLookup {
  tenantId: string;
  /** Epoch ms at which the mapping expires, or null when it never does. */
  expiresAtMs: number | null;
}

export type StoreStatus = 'ready' | 'down';

/** What changed: one tenant (its entry, the key mappings naming it, unknown keys), or anything at all. */
export type Invalidation = { tenantId: string } | { all: true };

/** A tenant's token bucket after one take or look (SPEC §5.2). */
export interface BucketState {
  allowed: boolean;
  /** Whole tokens left after this call. */
  remaining: number;
  /** Whole seconds (rounded up) until the bucket is full again; 0 when full. */
  resetSeconds: number;
  /** When refused: whole seconds (>= 1) until one token is back; 0 when allowed. */
  retryAfterSeconds: number;
}

/** A key's own bucket: whose, and its limit. */
export interface KeyBucket extends BucketLimit {
  keyId: string;
}

/** Both buckets after one takeTokens: admitted only when both had a token. */
export interface BucketPair {
  allowed: boolean;
  /** When refused: whole seconds (>= 1) until both would admit; 0 when allowed. */
  retryAfterSeconds: number;
  tenant: BucketState;
  /** null when the key has no limit of its own. Each state's `allowed` says whether that bucket had a token. */
  key: BucketState | null;
}

/**
 * The most a request waits for its bucket. A healthy Redis answers in well under a millisecond; a
 * stalled one would otherwise add a whole command timeout to every request (on top of the tenant
 * lookups that already waited), so past this the store counts as unavailable for this request.
 */
export const BUCKET_BUDGET_MS = 250;

export interface StateStore {
  readonly kind: 'redis' | 'memory';

  /** Raw tenant JSON at tenant:<id>, or null. */
  getTenant(id: string): Promise<string | null>;
  /** Writes tenant:<id>. With `onlyIfAbsent`, returns false (and writes nothing) if it exists. */
  putTenant(id: string, json: string, onlyIfAbsent?: boolean): Promise<boolean>;
  /** Removes tenant:<id>, every key mapping listed in its key metadata, the metadata, its buckets and its admin tokens. Returns false if the tenant did not exist. */
  deleteTenant(id: string): Promise<boolean>;
  /** Every tenant id present (tenant:<id>, excluding tenant:byApiKey:*), via SCAN on Redis. */
  listTenantIds(): Promise<string[]>;

  /** tenant:byApiKey:<hash> -> tenant id with its expiry, in one round trip. */
  lookupKey(hash: string): Promise<KeyLookup | null>;
  /** Writes the mapping (expiring at record.expiresAt, if any) and the metadata. */
  addKey(tenantId: string, record: KeyRecord): Promise<void>;
  /** Metadata of the tenant's keys, oldest first, expired ones included (they stay listed until revoked). */
  listKeys(tenantId: string): Promise<KeyRecord[]>;
  /** The tenant's key with this SHA-256 hex, or null (a hand-written mapping has no metadata). One round trip. */
  keyByHash(tenantId: string, hash: string): Promise<KeyRecord | null>;
  /**
   * Applies `changes` to the key's metadata atomically (an expiresAt change moves the mapping's expiry
   * too); returns the updated record, or null when the tenant has no such key.
   */
  updateKey(tenantId: string, keyId: string, changes: KeyChanges): Promise<KeyRecord | null>;
  /** Deletes the mapping, the metadata and the key's own bucket; returns the removed record or null. */
  removeKey(tenantId: string, keyId: string): Promise<KeyRecord | null>;

  /** Stores a tenant-scoped admin token by its hash (expiring at expiresAt, if any). */
  addToken(record: TokenRecord): Promise<void>;
  /** The token with this SHA-256 hex, or null (unknown, revoked, or gone with its tenant). One round trip. */
  tokenByHash(hash: string): Promise<TokenRecord | null>;
  /** The tenant's tokens, oldest first. */
  listTokens(tenantId: string): Promise<TokenRecord[]>;
  /** Revokes a token; returns the removed record or null. */
  removeToken(tenantId: string, tokenId: string): Promise<TokenRecord | null>;

  /** The audit log's head, read apart from the entries. */
  auditHead(): Promise<AuditHead>;
  /**
   * Appends entry `seq` = expected.seq + 1 (its stored JSON and hash) only if the head is still
   * `expected` (compare-and-append, atomic), then trims the oldest entries past `maxEntries`.
   * Returns false, writing nothing, when another replica appended first.
   */
  appendAudit(expected: { seq: number; hash: string }, entryJson: string, hash: string, maxEntries: number): Promise<boolean>;
  /** The stored JSON of entries fromSeq .. fromSeq + count - 1, null where one is missing. */
  readAudit(fromSeq: number, count: number): Promise<(string | null)[]>;

  /** Tells every replica (this one's listeners included) to drop cached answers. Throws StoreUnavailableError. */
  publishInvalidation(msg: Invalidation): Promise<void>;
  /**
   * Listens for invalidations from any replica. After the subscription was (re-)established the
   * listener gets `{ all: true }`: messages may have been missed meanwhile.
   */
  onInvalidation(listener: (msg: Invalidation) => void): void;

  /**
   * Refills the tenant's bucket (capacity tokens per windowSeconds, continuously) and takes `cost`
   * tokens when one is there, atomically and in one round trip; cost 0 only looks. Answers within
   * BUCKET_BUDGET_MS or rejects with StoreUnavailableError.
   */
  takeToken(tenantId: string, capacity: number, windowSeconds: number, cost: 0 | 1): Promise<BucketState>;
  /**
   * SPEC §13: the tenant's bucket and, when the key has its own limit, the key's, in one atomic script
   * and one round trip; a token is taken from neither unless both admit. Bounded like takeToken.
   */
  takeTokens(tenantId: string, tenant: BucketLimit, key: KeyBucket | null, cost: 0 | 1): Promise<BucketPair>;
  /**
   * takeTokens answered at once, by a store whose buckets live in this process (the embedded store):
   * the rate-limit step then decides without a promise. A store across the network leaves it out.
   */
  takeTokensNow?(tenantId: string, tenant: BucketLimit, key: KeyBucket | null, cost: 0 | 1): BucketPair;

  /** True when the store answers now. */
  ping(): Promise<boolean>;
  status(): StoreStatus;
  /** Called on every transition between ready and down. */
  onStatusChange(listener: (status: StoreStatus) => void): void;
  close(): Promise<void>;
}

/** Thrown by adapters when the backing store cannot answer (Redis down, timeout). */
export class StoreUnavailableError extends Error {
  constructor(message = 'state store unavailable', options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreUnavailableError';
  }
}
