import type { ExecutionContext } from '@nestjs/common';
import type { IncomingHttpHeaders } from 'node:http';
import type { RequestContext } from '../../src/observability/request-context';

/** The parts of a request the guards read: enough to run one without Nest or a server. */
export interface FakeRequest {
  headers: IncomingHttpHeaders;
  method: string;
  originalUrl: string;
  ctx: RequestContext;
}

export function fakeRequest(init: Partial<Omit<FakeRequest, 'ctx'>> & { ctx?: Partial<RequestContext> } = {}): FakeRequest {
  return {
    headers: init.headers ?? {},
    method: init.method ?? 'GET',
    originalUrl: init.originalUrl ?? '/api/',
    ctx: { requestId: 'req-test', startedAt: 0, traceId: undefined, plane: 'data', target: init.originalUrl ?? '/api/', ...init.ctx },
  };
}

/** An ExecutionContext whose `switchToHttp().getRequest()` is `req`; nothing else is used by guards. */
export function fakeHttpContext(req: FakeRequest): ExecutionContext {
  const http = { getRequest: () => req, getResponse: () => ({}), getNext: () => () => undefined };
  return { switchToHttp: () => http, getType: () => 'http' } as unknown as ExecutionContext;
}
