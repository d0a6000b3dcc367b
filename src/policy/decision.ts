import type { KeyMeta } from '../tenants/tenant-resolver';
import type { AllowedRoute, Tenant } from '../tenants/tenant.model';
import type { RateLimitDecision } from './steps/rate-limit/rate-limiter';
import type { JwtRequirement } from './steps/route/jwt-rule';

/**
 * What the policy steps read and learn about one request. The data plane's per-request context is
 * one (built from the HTTP request); explain builds one from the question it is asked.
 */
export interface Decision {
  /** Upper-case HTTP method. */
  method: string;
  /** The request-target as received (`/api/...?...`): nothing has decoded or rewritten it. */
  target: string;
  /** Request headers, names lower-cased. */
  headers: Readonly<Record<string, string | string[] | undefined>>;
  /** Explain only: the tenant is named directly, no API key is checked. */
  namedTenantId?: string;
  /** Normalized path after /api, set by the path step. */
  path?: string;
  /** Raw query string including its leading `?`, or ''. */
  query?: string;
  tenant?: Tenant;
  /** `tenant.id`, for logs and metrics that must not depend on the tenant model. */
  tenantId?: string;
  /** The path routes are matched with: `path`, without `;` parameters when the tenant allows them (SPEC §18). */
  routePath?: string;
  /** The API key's metadata (SPEC §13); null for a mapping without any, absent when no key was checked. */
  key?: KeyMeta | null;
  /** The SHA-256 of the admitted API key, as the API-key step looked it up (an open WebSocket is re-checked by it); never shown or logged. */
  keyHash?: string;
  /** The allowed route that matched, set by the route step with the JWT requirement it implies. */
  route?: AllowedRoute;
  jwt?: JwtRequirement;
  /** The verified token's `sub` (X-Auth-Subject upstream). */
  authSubject?: string;
  /** The bucket's answer (its RateLimit-* headers go on every answer once the key is known). */
  rateLimit?: RateLimitDecision;
}
