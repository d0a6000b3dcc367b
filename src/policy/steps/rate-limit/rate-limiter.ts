import { Inject, Injectable } from '@nestjs/common';
import { GATEWAY_CONFIG, type GatewayConfig } from '../../../config/config.types';
import { GatewayError, rateLimited, stateUnavailable } from '../../../errors/gateway-error';
import { Metrics } from '../../../observability/metrics';
import { STATE_STORE, StoreUnavailableError, type BucketPair, type BucketState, type KeyBucket, type StateStore } from '../../../store/store.port';
import type { KeyMeta } from '../../../tenants/tenant-resolver';
import { DEFAULT_RATE_LIMIT, type RateLimitPolicy, type Tenant } from '../../../tenants/tenant.model';

/** What the rate-limit step decided for one request (SPEC §5.2); also what the RateLimit-* headers report. */
export interface RateLimitDecision {
  allowed: boolean;
  /** The tenant's capacity (maxRequests). */
  limit: number;
  /** Whole tokens left; null when the store could not answer. */
  remaining: number | null;
  /** Whole seconds until the bucket is full; null when the store could not answer. */
  resetSeconds: number | null;
  /** Whole seconds (>= 1) to wait when refused by the bucket; 0 otherwise. */
  retryAfterSeconds: number;
  /** The store could not answer: the decision is RATE_LIMIT_FAILURE_MODE's, not the bucket's. */
  storeFailed: boolean;
  /**
   * SPEC §13: which bucket limit, remaining and reset describe: the key's own when it has fewer tokens
   * left (or as many), else the tenant's.
   */
  bucket: 'tenant' | 'key';
  /** Both levels when the key has a limit of its own (explain shows them); null otherwise. */
  levels: { tenant: BucketLevelView; key: BucketLevelView } | null;
}

/** One bucket's level as explain shows it. */
export interface BucketLevelView {
  limit: number;
  remaining: number;
  resetSeconds: number;
}

/** SPEC §3: `rateLimit` is optional, and defaults to 100 requests per 60 s. */
export const policyOf = (tenant: Tenant): RateLimitPolicy => tenant.rateLimit ?? DEFAULT_RATE_LIMIT;

/** A decision made without the buckets: only the limit is known (the key's, when it has one). */
export function unknownLevel(tenant: Tenant, allowed: boolean, key: KeyMeta | null = null): RateLimitDecision {
  const limit = key?.rateLimit?.maxRequests ?? policyOf(tenant).maxRequests;
  const bucket = key?.rateLimit ? 'key' : 'tenant';
  return { allowed, limit, remaining: null, resetSeconds: null, retryAfterSeconds: 0, storeFailed: true, bucket, levels: null };
}

/** The error a refused decision answers with: 429 from the bucket, 503 when the store failed closed. */
export function denialOf(decision: RateLimitDecision): GatewayError | null {
  if (decision.allowed) return null;
  if (decision.storeFailed) return stateUnavailable();
  // Named after the bucket that is empty (the key's when both are).
  return rateLimited(decision.retryAfterSeconds, decision.levels !== null && decision.levels.key.remaining === 0 ? 'key' : 'tenant');
}

const view = (limit: number, state: BucketState): BucketLevelView => ({ limit, remaining: state.remaining, resetSeconds: state.resetSeconds });

/** The key's own bucket (SPEC §13), or null when the key has no limit of its own. */
function keyBucketOf(key: KeyMeta | null): KeyBucket | null {
  return key?.rateLimit ? { keyId: key.keyId, ...key.rateLimit } : null;
}

/** The decision the store's answer makes, with the tenant's policy and the key's own limit. */
function levelOf(pair: BucketPair, policy: RateLimitPolicy, key: KeyMeta | null): RateLimitDecision {
  const own = key?.rateLimit ?? null;
  const t = pair.tenant;
  const k = pair.key;
  // The headers describe the bucket with fewer tokens left, the key's on a tie (SPEC §13).
  const byKey = k !== null && own !== null && k.remaining <= t.remaining;
  const shown = byKey ? k : t;
  // Field by field, not spread: the same shape as unknownLevel's, and nothing else the store returns.
  return {
    allowed: pair.allowed,
    limit: byKey ? own.maxRequests : policy.maxRequests,
    remaining: shown.remaining,
    resetSeconds: shown.resetSeconds,
    retryAfterSeconds: pair.retryAfterSeconds,
    storeFailed: false,
    bucket: byKey ? 'key' : 'tenant',
    levels: k === null || own === null ? null : { tenant: view(policy.maxRequests, t), key: view(own.maxRequests, k) },
  };
}

/**
 * The tenant's token bucket behind the state store. A store that cannot answer is decided by
 * RATE_LIMIT_FAILURE_MODE: `open` admits, `closed` refuses (503); either way a take counts
 * gateway_internal_errors_total{type="rate_limit_store"}.
 */
@Injectable()
export class RateLimiter {
  constructor(
    @Inject(STATE_STORE) private readonly store: StateStore,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    @Inject(Metrics) private readonly metrics: Metrics,
  ) {}

  /** Takes one token for a request (the data plane's step 5): the tenant's, and the key's when it has a limit. */
  take(tenant: Tenant, key: KeyMeta | null = null): Promise<RateLimitDecision> {
    return this.decide(tenant, key, 1);
  }

  /** The decision a request would get now, without taking a token (explain, denials before the bucket). */
  peek(tenant: Tenant, key: KeyMeta | null = null): Promise<RateLimitDecision> {
    return this.decide(tenant, key, 0);
  }

  /** peek() for answers that must go out whatever happens: never rejects; on any failure only the limit is known. */
  peekOrLimit(tenant: Tenant, key: KeyMeta | null = null): Promise<RateLimitDecision> {
    return this.peek(tenant, key).catch(() => unknownLevel(tenant, true, key));
  }

  /**
   * The decision at once, without a promise, when the store's buckets live in this process (the
   * embedded store); undefined when the store must be asked over the network (take() then).
   */
  decideNow(tenant: Tenant, key: KeyMeta | null, cost: 0 | 1): RateLimitDecision | undefined {
    if (this.store.takeTokensNow === undefined) return undefined;
    const policy = policyOf(tenant);
    return levelOf(this.store.takeTokensNow(tenant.id, policy, keyBucketOf(key), cost), policy, key);
  }

  private async decide(tenant: Tenant, key: KeyMeta | null, cost: 0 | 1): Promise<RateLimitDecision> {
    const policy = policyOf(tenant);
    try {
      // Bounded by the store itself (BUCKET_BUDGET_MS): a stalled one rejects StoreUnavailableError.
      return levelOf(await this.store.takeTokens(tenant.id, policy, keyBucketOf(key), cost), policy, key);
    } catch (err) {
      if (!(err instanceof StoreUnavailableError)) throw err;
      if (cost === 1) this.metrics.internalErrors.inc({ type: 'rate_limit_store' });
      return unknownLevel(tenant, this.config.rateLimitFailureMode === 'open', key);
    }
  }
}
