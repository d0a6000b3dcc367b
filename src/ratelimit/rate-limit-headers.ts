import type { ServerResponse } from 'node:http';
import type { RateLimitDecision } from './rate-limiter';

/**
 * SPEC §5.2 response headers of a decision. Remaining and Reset are left out when the store could
 * not answer: the gateway does not know them, and a guess would mislead a client's back-off.
 */
export function rateLimitHeaders(decision: RateLimitDecision): Record<string, string> {
  const headers: Record<string, string> = { 'RateLimit-Limit': String(decision.limit) };
  if (decision.remaining !== null) headers['RateLimit-Remaining'] = String(decision.remaining);
  if (decision.resetSeconds !== null) headers['RateLimit-Reset'] = String(decision.resetSeconds);
  return headers;
}

/** Sets them on the response; they stay through a proxied response (the upstream's same-named ones are dropped). */
export function applyRateLimitHeaders(res: ServerResponse, decision: RateLimitDecision): void {
  for (const [name, value] of Object.entries(rateLimitHeaders(decision))) res.setHeader(name, value);
}
