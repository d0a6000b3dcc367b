import type { IncomingMessage } from 'node:http';
import type { ErrorCode } from '../errors/error-table';

/** What logs and metrics learn about one request as it goes (SPEC §8), on either plane. */
export interface RequestContext {
  requestId: string;
  startedAt: number;
  traceId: string | undefined;
  /** `data` for /api/*, `control` for /admin/* and /metrics, else `other`. */
  plane: 'data' | 'control' | 'other';
  /** The request-target exactly as received: nothing has decoded or rewritten it. */
  target: string;
  /** The resolved tenant's id, once known. */
  tenantId?: string;
  /** The SPEC code of the denial or error, when there is one. */
  errorCode?: ErrorCode;
  /**
   * A WebSocket upgrade proxied to the upstream: the status of the upstream's answer (101 once the
   * connection switched), logged and counted when the connection closes (SPEC §15).
   */
  upgradeStatus?: number;
}

export type ContextRequest = IncomingMessage & { ctx: RequestContext };

export function contextOf(req: IncomingMessage): RequestContext {
  return (req as ContextRequest).ctx;
}
