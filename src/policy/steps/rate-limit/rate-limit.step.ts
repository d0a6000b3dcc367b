import { Inject, Injectable } from '@nestjs/common';
import type { Decision } from '../../decision';
import type { PolicyStep, StepMode } from '../../step';
import { denialOf, RateLimiter, type RateLimitDecision } from './rate-limiter';

/**
 * Step 5: one token from the tenant's bucket, and from the key's own when it has a limit (SPEC §13;
 * one store round trip for both); `peek` only looks. The decision
 * is kept on the request, whose RateLimit-* headers then go on every later answer: the proxied
 * response, a 429, a 413 or a 502.
 */
@Injectable()
export class RateLimitStep implements PolicyStep {
  readonly name = 'rate_limit';

  constructor(@Inject(RateLimiter) private readonly limiter: RateLimiter) {}

  /** Synchronous with the embedded store, whose buckets are in this process; one store round trip otherwise. */
  run(decision: Decision, mode: StepMode): void | Promise<void> {
    const tenant = decision.tenant!;
    const key = decision.key ?? null;
    const now = this.limiter.decideNow(tenant, key, mode === 'take' ? 1 : 0);
    if (now !== undefined) return settle(decision, now);
    return (mode === 'take' ? this.limiter.take(tenant, key) : this.limiter.peek(tenant, key)).then((level) => settle(decision, level));
  }

  shows(decision: Decision): Record<string, unknown> {
    return levelFields(decision.rateLimit!);
  }

  showsRefusal(decision: Decision): Record<string, unknown> {
    const level = decision.rateLimit;
    return level === undefined ? {} : { ...levelFields(level), retryAfterSeconds: level.retryAfterSeconds };
  }

  /**
   * A refusal after the API key but before the bucket still reports the tenant's limit (SPEC §5.2):
   * a look at the bucket without taking a token (one extra round trip, on refusals only), bounded
   * like any bucket call; without an answer only RateLimit-Limit is known. Never rejects.
   */
  afterRefusal(decision: Decision): Promise<void> | undefined {
    if (decision.tenant === undefined || decision.rateLimit !== undefined) return undefined;
    return this.limiter.peekOrLimit(decision.tenant, decision.key ?? null).then((level) => {
      decision.rateLimit = level;
    });
  }
}

/** Records the level on the decision (every later answer carries it), and refuses when it says so. */
function settle(decision: Decision, level: RateLimitDecision): void {
  decision.rateLimit = level;
  const denial = denialOf(level);
  if (denial !== null) throw denial;
}

function levelFields(level: RateLimitDecision): Record<string, unknown> {
  return {
    limit: level.limit,
    remaining: level.remaining,
    resetSeconds: level.resetSeconds,
    ...(level.storeFailed && { storeAnswered: false }),
    // SPEC §13: with a key limit of its own, both buckets, and which one the headers describe.
    ...(level.levels !== null && { bucket: level.bucket, tenantBucket: level.levels.tenant, keyBucket: level.levels.key }),
  };
}
