import type { IncomingMessage, ServerResponse } from 'node:http';
import { GatewayError } from '../../errors/gateway-error';
import { sendProblem } from '../../errors/problem';
import { planeOf } from '../../http/plane';
import { contextOf } from '../../observability/request-context';
import { allowedMethods } from './admin-rights';

/**
 * SPEC §17: a known admin path asked with a method it does not serve is 405 method_not_allowed with
 * `Allow`, rather than 404. Mounted after the admin gate, so a request without a valid token still
 * gets 401 first.
 */
export function methodGateMiddleware() {
  return (req: IncomingMessage & { originalUrl?: string }, res: ServerResponse, next: () => void): void => {
    const target = req.originalUrl ?? req.url ?? '/';
    if (planeOf(target) !== 'control') return next();
    const allowed = allowedMethods(target.split('?')[0]);
    const method = req.method ?? 'GET';
    if (allowed === null || allowed.includes(method)) return next();
    const ctx = contextOf(req);
    const error = new GatewayError('method_not_allowed', `${method} is not served here: use ${allowed.join(', ')}.`, undefined, {
      Allow: allowed.join(', '),
    });
    ctx.errorCode = error.code;
    sendProblem(res, error, ctx.requestId);
  };
}
