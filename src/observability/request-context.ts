import type { IncomingMessage } from 'node:http';
import type { ErrorCode } from '../errors/error-table';
import type { CompiledRoutes } from '../policy/route-matcher';
import type { RateLimitDecision } from '../ratelimit/rate-limiter';
import type { AllowedRoute, Tenant } from '../tenants/tenant.model';

/** What the gateway learns about one request as it goes; read by logs, metrics and the proxy. */
export interface RequestContext {
  requestId: string;
  startedAt: number;
  traceId: string | undefined;
  /** `data` for /api/*, `control` for /admin/* and /metrics, else `other`. */
  plane: 'data' | 'control' | 'other';
  /** The request-target exactly as received: nothing has decoded or rewritten it. */
  target: string;
  /** Normalized path after /api (data plane), set by the path step. */
  path?: string;
  /** Raw query string including its leading `?`, or ''. */
  query?: string;
  tenant?: Tenant;
  /** The tenant's allowlist, compiled when it was loaded; set with `tenant`. */
  routes?: CompiledRoutes;
  route?: AllowedRoute;
  authSubject?: string;
  /** The rate-limit step's decision (its RateLimit-* headers are on the response already). */
  rateLimit?: RateLimitDecision;
  /** The SPEC code of the denial or error, when there is one. */
  errorCode?: ErrorCode;
}

export type ContextRequest = IncomingMessage & { ctx: RequestContext };

export function contextOf(req: IncomingMessage): RequestContext {
  return (req as ContextRequest).ctx;
}
