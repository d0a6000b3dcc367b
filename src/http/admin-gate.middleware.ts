import type { IncomingMessage, ServerResponse } from 'node:http';
import { invalidAdminToken } from '../errors/gateway-error';
import { sendProblem } from '../errors/problem';
import { contextOf } from '../observability/request-context';

/**
 * Everything under /admin and /metrics needs the admin token, including paths that do not exist: without it the
 * answer is 401 before any body is read or any route is revealed. The controllers' AdminGuard checks
 * again, so a route never depends on this being mounted.
 */
export function adminGateMiddleware(accepts: (req: IncomingMessage) => boolean) {
  return (req: IncomingMessage, res: ServerResponse, next: () => void): void => {
    if (accepts(req)) {
      next();
      return;
    }
    const ctx = contextOf(req);
    const error = invalidAdminToken();
    ctx.errorCode = error.code;
    sendProblem(res, error, ctx.requestId);
  };
}
