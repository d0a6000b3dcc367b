import { Inject, Injectable } from '@nestjs/common';
import { GATEWAY_CONFIG, type GatewayConfig } from '../../../config/config.types';
import { GatewayError, rateLimited, stateUnavailable } from '../../../errors/gateway-error';
import { Metrics } from '../../../observability/metrics';
import { STATE_STORE, StoreUnavailableError, type StateStore } from '../../../store/store.port';
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
}

/** SPEC §3: `rateLimit` is optional, and defaults to 100 requests per 60 s. */
export const policyOf = (tenant: Tenant): RateLimitPolicy => tenant.rateLimit ?? DEFAULT_RATE_LIMIT;

/** A decision made without the bucket: only the limit is known. */
export function unknownLevel(tenant: Tenant, allowed: boolean): RateLimitDecision {
  return { allowed, limit: policyOf(tenant).maxRequests, remaining: null, resetSeconds: null, retryAfterSeconds: 0, storeFailed: true };
}

/** The error a refused decision answers with: 429 from the bucket, 503 when the store failed closed. */
export function denialOf(decision: RateLimitDecision): GatewayError | null {
  if (decision.allowed) return null;
  return decision.storeFailed ? stateUnavailable() : rateLimited(decision.retryAfterSeconds);
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

  /** Takes one token for a request (the data plane's step 5). */
  take(tenant: Tenant): Promise<RateLimitDecision> {
    return this.decide(tenant, 1);
  }

  /** The decision a request would get now, without taking a token (explain, denials before the bucket). */
  peek(tenant: Tenant): Promise<RateLimitDecision> {
    return this.decide(tenant, 0);
  }

  /** peek() for answers that must go out whatever happens: never rejects; on any failure only the limit is known. */
  peekOrLimit(tenant: Tenant): Promise<RateLimitDecision> {
    return this.peek(tenant).catch(() => unknownLevel(tenant, true));
  }

  private async decide(tenant: Tenant, cost: 0 | 1): Promise<RateLimitDecision> {
    const { maxRequests, windowSeconds } = policyOf(tenant);
    try {
      // Bounded by the store itself (BUCKET_BUDGET_MS): a stalled one rejects StoreUnavailableError.
      const state = await this.store.takeToken(tenant.id, maxRequests, windowSeconds, cost);
      // Field by field, not spread: the same shape as unknownLevel's, and nothing else the store returns.
      return {
        allowed: state.allowed,
        limit: maxRequests,
        remaining: state.remaining,
        resetSeconds: state.resetSeconds,
        retryAfterSeconds: state.retryAfterSeconds,
        storeFailed: false,
      };
    } catch (err) {
      if (!(err instanceof StoreUnavailableError)) throw err;
      if (cost === 1) this.metrics.internalErrors.inc({ type: 'rate_limit_store' });
      return unknownLevel(tenant, this.config.rateLimitFailureMode === 'open');
    }
  }
}
