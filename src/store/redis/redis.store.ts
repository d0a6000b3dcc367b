import { Cluster, type Redis } from 'ioredis';
import { RedisConfig } from '../../config/config.types';
import type {
  AuditHead,
  BucketLimit,
  BucketPair,
  BucketState,
  Invalidation,
  KeyBucket,
  KeyChanges,
  KeyLookup,
  KeyRecord,
  StateStore,
  StoreStatus,
  TokenRecord,
} from '../store.port';
import { BUCKET_BUDGET_MS, StoreUnavailableError } from '../store.port';
import { within } from '../within';
import { InvalidationBus } from './invalidation-bus';
import { bucketKey, keyBucketKey, MAPPING_PREFIX, mappingKey, TENANT_PREFIX, tenantKey } from './layout';
import { createRedisClient, RedisClient, type StoreLog } from './redis.client';
import { addKeyOn, DEL_IF_OWNED, deleteKeysOf, keyByHashOn, listKeysOn, removeKeyOn, updateKeyOn } from './redis-keys';
import { appendAuditOn, auditHeadOn, readAuditOn } from './redis-audit';
import { addTokenOn, deleteTokensOf, listTokensOn, removeTokenOn, tokenByHashOn } from './redis-tokens';
import { defineTokenBucket, takeTokensOn, type BucketAt } from './token-bucket';
import { errorMessage } from '../../errors/error-message';

/**
 * Server replies that mean "not answering right now" rather than "bad request". OOM (maxmemory reached
 * under noeviction) refuses every write, the bucket script's included: that is Redis unable to answer.
 */
const TRANSIENT_REPLY = /^(CLUSTERDOWN|LOADING|TRYAGAIN|MASTERDOWN|READONLY|BUSY|NOREPLICAS|OOM)\b/;

/** Connection-level failures become StoreUnavailableError; a genuine reply error (e.g. WRONGTYPE) stays itself. */
function toStoreError(err: unknown): Error {
  if (err instanceof StoreUnavailableError) return err;
  if (err instanceof Error && err.name === 'ReplyError' && !TRANSIENT_REPLY.test(err.message)) return err;
  const reason = errorMessage(err);
  return new StoreUnavailableError(`redis unavailable: ${reason}`, { cause: err });
}

/** The shared store over ioredis (standalone or cluster). Never throws for an unreachable Redis outside of calls. */
export class RedisStore implements StateStore {
  readonly kind = 'redis' as const;
  private current: StoreStatus = 'down';
  private readonly listeners: ((status: StoreStatus) => void)[] = [];
  private lastError: string | null = null;
  private closing: Promise<void> | null = null;
  private readonly bus: InvalidationBus;

  constructor(
    private readonly client: RedisClient,
    private readonly log: StoreLog = () => undefined,
  ) {
    this.bus = new InvalidationBus(client, log);
    client.on('ready', () => this.setStatus('ready'));
    client.on('close', () => this.setStatus('down'));
    client.on('end', () => this.setStatus('down'));
    // Without an 'error' listener ioredis errors would be unhandled; log each distinct one once per outage.
    client.on('error', (err: Error) => this.logError(err));
    if (client instanceof Cluster) client.on('node error', (err: Error) => this.logError(err));
    if (client.status === 'ready') this.current = 'ready';
    defineTokenBucket(client);
  }

  async getTenant(id: string): Promise<string | null> {
    return this.run(() => this.client.get(tenantKey(id)));
  }

  async putTenant(id: string, json: string, onlyIfAbsent = false): Promise<boolean> {
    const reply = await this.run(() =>
      onlyIfAbsent ? this.client.set(tenantKey(id), json, 'NX') : this.client.set(tenantKey(id), json),
    );
    return reply === 'OK';
  }

  async deleteTenant(id: string): Promise<boolean> {
    return this.run(async () => {
      await deleteTokensOf(this.client, id);
      await deleteKeysOf(this.client, id);
      await this.sweepHandWrittenMappings(id);
      await this.client.del(bucketKey(id));
      // Last, so a failure half-way leaves the tenant visible and a retry finishes the job.
      return (await this.client.del(tenantKey(id))) > 0;
    });
  }

  async listTenantIds(): Promise<string[]> {
    return this.run(async () => {
      const ids = new Set<string>();
      await this.scanMasters(`${TENANT_PREFIX}*`, async (_node, keys) => {
        for (const key of keys) if (!key.startsWith(MAPPING_PREFIX)) ids.add(key.slice(TENANT_PREFIX.length));
      });
      return [...ids].sort();
    });
  }

  /**
   * Mappings written by hand have no metadata: find the ones naming this tenant with SCAN, so that a
   * deleted tenant's keys can never come back to life with a new tenant of the same id.
   */
  private async sweepHandWrittenMappings(id: string): Promise<void> {
    await this.scanMasters(`${MAPPING_PREFIX}*`, async (node, keys) => {
      const replies = (await node.pipeline(keys.map((key) => ['get', key])).exec()) ?? [];
      const owned = keys.filter((_, i) => replies[i]?.[1] === id);
      await Promise.all(owned.map((key) => this.client.eval(DEL_IF_OWNED, 1, key, id)));
    });
  }

  /** SCAN (never KEYS) over every master: one node, or each master of a cluster. */
  private async scanMasters(match: string, onKeys: (node: Redis, keys: string[]) => Promise<void>): Promise<void> {
    const masters = this.client instanceof Cluster ? this.client.nodes('master') : [this.client];
    if (masters.length === 0) throw new StoreUnavailableError('no redis master known');
    await Promise.all(
      masters.map(async (node) => {
        let cursor = '0';
        do {
          const [next, keys] = await node.scan(cursor, 'MATCH', match, 'COUNT', 500);
          cursor = next;
          if (keys.length > 0) await onKeys(node, keys);
        } while (cursor !== '0');
      }),
    );
  }

  async lookupKey(hash: string): Promise<KeyLookup | null> {
    const key = mappingKey(hash);
    // Taken before sending: sentAt + PTTL never reports an expiry later than the real one (PTTL works on 6.2).
    const sentAt = Date.now();
    const replies = await this.run(() => this.client.pipeline().get(key).pttl(key).exec());
    if (!replies) throw new StoreUnavailableError('redis pipeline aborted');
    const [[getErr, tenantId], [ttlErr, pttl]] = replies;
    if (getErr) throw toStoreError(getErr);
    if (ttlErr) throw toStoreError(ttlErr);
    if (typeof tenantId !== 'string') return null;
    return { tenantId, expiresAtMs: typeof pttl === 'number' && pttl >= 0 ? sentAt + pttl : null };
  }

  async addKey(tenantId: string, record: KeyRecord): Promise<void> {
    await this.run(() => addKeyOn(this.client, tenantId, record));
  }

  async listKeys(tenantId: string): Promise<KeyRecord[]> {
    return this.run(() => listKeysOn(this.client, tenantId));
  }

  async keyByHash(tenantId: string, hash: string): Promise<KeyRecord | null> {
    return this.run(() => keyByHashOn(this.client, tenantId, hash));
  }

  async updateKey(tenantId: string, keyId: string, changes: KeyChanges): Promise<KeyRecord | null> {
    return this.run(() => updateKeyOn(this.client, tenantId, keyId, changes));
  }

  async removeKey(tenantId: string, keyId: string): Promise<KeyRecord | null> {
    return this.run(() => removeKeyOn(this.client, tenantId, keyId));
  }

  async addToken(record: TokenRecord): Promise<void> {
    await this.run(() => addTokenOn(this.client, record));
  }

  async tokenByHash(hash: string): Promise<TokenRecord | null> {
    return this.run(() => tokenByHashOn(this.client, hash));
  }

  async listTokens(tenantId: string): Promise<TokenRecord[]> {
    return this.run(() => listTokensOn(this.client, tenantId));
  }

  async removeToken(tenantId: string, tokenId: string): Promise<TokenRecord | null> {
    return this.run(() => removeTokenOn(this.client, tenantId, tokenId));
  }

  async auditHead(): Promise<AuditHead> {
    return this.run(() => auditHeadOn(this.client));
  }

  async appendAudit(expected: { seq: number; hash: string }, entryJson: string, hash: string, maxEntries: number): Promise<boolean> {
    return this.run(() => appendAuditOn(this.client, expected, entryJson, hash, maxEntries));
  }

  async readAudit(fromSeq: number, count: number): Promise<(string | null)[]> {
    return this.run(() => readAuditOn(this.client, fromSeq, count));
  }

  async publishInvalidation(msg: Invalidation): Promise<void> {
    await this.run(() => this.bus.publish(msg));
  }

  onInvalidation(listener: (msg: Invalidation) => void): void {
    this.bus.listen(listener);
  }

  takeToken(tenantId: string, capacity: number, windowSeconds: number, cost: 0 | 1): Promise<BucketState> {
    return this.takeTokens(tenantId, { maxRequests: capacity, windowSeconds }, null, cost).then((pair) => pair.tenant);
  }

  takeTokens(tenantId: string, tenant: BucketLimit, key: KeyBucket | null, cost: 0 | 1): Promise<BucketPair> {
    const buckets: BucketAt[] = [{ key: bucketKey(tenantId), capacity: tenant.maxRequests, windowSeconds: tenant.windowSeconds }];
    if (key !== null) buckets.push({ key: keyBucketKey(tenantId, key.keyId), capacity: key.maxRequests, windowSeconds: key.windowSeconds });
    const answer = this.run(() => takeTokensOn(this.client, buckets, cost)).then(
      ({ allowed, retryAfterSeconds, states }): BucketPair => ({
        allowed,
        retryAfterSeconds,
        tenant: states[0],
        key: key === null ? null : states[1],
      }),
    );
    return within(answer, BUCKET_BUDGET_MS, 'bucket answer');
  }

  async ping(): Promise<boolean> {
    try {
      const nodes = this.client instanceof Cluster ? this.client.nodes('master') : [this.client];
      if (nodes.length === 0) return false;
      const replies = await Promise.all(nodes.map((node) => node.ping()));
      return replies.every((reply) => reply === 'PONG');
    } catch {
      return false;
    }
  }

  status(): StoreStatus {
    return this.current;
  }

  onStatusChange(listener: (status: StoreStatus) => void): void {
    this.listeners.push(listener);
  }

  /** Quits gracefully; a Redis that cannot answer is disconnected instead, so this never hangs. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.bus.close();
      try {
        if (this.client.status !== 'ready') throw new Error('not connected');
        await within(this.client.quit(), 1500);
      } catch {
        this.client.disconnect();
      }
      this.current = 'down';
    })();
    return this.closing;
  }

  private async run<T>(op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (err) {
      throw toStoreError(err);
    }
  }

  private setStatus(next: StoreStatus): void {
    if (this.current === next || this.closing) return;
    this.current = next;
    if (next === 'ready') this.lastError = null;
    this.log(next === 'ready' ? 'redis_ready' : 'redis_down');
    for (const listener of this.listeners) {
      try {
        listener(next);
      } catch (err) {
        this.log('store_status_listener_failed', { error: errorMessage(err) });
      }
    }
  }

  private logError(err: Error): void {
    if (err.message === this.lastError) return;
    this.lastError = err.message;
    this.log('redis_error', { error: err.message });
  }
}

/** Builds the client from configuration and wraps it; connecting goes on in the background. */
export function createRedisStore(cfg: RedisConfig, log?: StoreLog): RedisStore {
  return new RedisStore(createRedisClient(cfg), log);
}
