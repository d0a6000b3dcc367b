import type { IncomingMessage, ServerResponse } from 'node:http';
import { GatewayError, invalidAdminToken, stateUnavailable } from '../errors/gateway-error';
import { sendProblem } from '../errors/problem';
import { contextOf } from '../observability/request-context';

/**
 * Everything under /admin and /metrics needs an admin token, including paths that do not exist: without
 * one the answer is 401 before any body is read or any route is revealed. `authenticate` says who the
 * token speaks for (null: nobody) and keeps it on the request; the controllers' guard decides what
 * that principal may do, and checks the token itself where this gate is not mounted.
 */
export function adminGateMiddleware(authenticate: (req: IncomingMessage) => Promise<unknown>) {
  return (req: IncomingMessage, res: ServerResponse, next: () => void): void => {
    const refuse = (error: GatewayError) => {
      const ctx = contextOf(req);
      ctx.errorCode = error.code;
      sendProblem(res, error, ctx.requestId);
    };
    authenticate(req).then(
      (principal) => (principal === null ? refuse(invalidAdminToken()) : next()),
      // A tenant token cannot be checked while the store is down.
      () => refuse(stateUnavailable()),
    );
  };
}
