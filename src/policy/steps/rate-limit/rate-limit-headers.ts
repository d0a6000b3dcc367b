import type { RateLimitDecision } from './rate-limiter';

/** A ServerResponse, or anything else headers can be set on. */
interface HeaderSink {
  setHeader(name: string, value: string): unknown;
}

/**
 * Sets the SPEC §5.2 response headers of a decision. Remaining and Reset are left out when the store
 * could not answer: the gateway does not know them, and a guess would mislead a client's back-off.
 * They stay through a proxied response (the upstream's same-named ones are dropped).
 */
export function applyRateLimitHeaders(res: HeaderSink, decision: RateLimitDecision): void {
  // Set one by one: this runs on every data-plane request, so no intermediate object or entries array.
  res.setHeader('RateLimit-Limit', String(decision.limit));
  if (decision.remaining !== null) res.setHeader('RateLimit-Remaining', String(decision.remaining));
  if (decision.resetSeconds !== null) res.setHeader('RateLimit-Reset', String(decision.resetSeconds));
}
