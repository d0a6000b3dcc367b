import type { IncomingMessage } from 'node:http';
import { contextOf, type RequestContext } from '../observability/request-context';
import type { Decision } from '../policy/decision';

/**
 * A data-plane request's context: what logs and metrics read, and the policy decision the steps
 * complete. One object per request, created by the request-context middleware.
 */
export type ApiContext = RequestContext & Decision;

export function apiContextOf(req: IncomingMessage): ApiContext {
  return contextOf(req) as ApiContext;
}
