import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Inject } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import { LOGGER, type Logger } from '../observability/logger';
import { Metrics } from '../observability/metrics';
import { contextOf } from '../observability/request-context';
import { requestIdFrom } from '../observability/request-id';
import { StoreUnavailableError } from '../store/store.port';
import type { ErrorCode } from '../errors/error-table';
import { GatewayError, internalError, stateUnavailable } from '../errors/gateway-error';
import { sendProblem } from '../errors/problem';

/** The table code for each status Nest's own HTTP errors carry; any other status is an internal error. */
const HTTP_EXCEPTION_CODES: ReadonlyMap<number, ErrorCode> = new Map([
  [400, 'bad_request'],
  [403, 'forbidden'],
  [404, 'not_found'],
  [405, 'method_not_allowed'],
  [413, 'payload_too_large'],
  [415, 'unsupported_media_type'],
]);

/** Nest's own HTTP errors (unknown route, wrong method) in our problem-JSON shape. */
function fromHttpException(err: HttpException): GatewayError {
  const status = err.getStatus();
  const code = HTTP_EXCEPTION_CODES.get(status) ?? 'internal_error';
  return new GatewayError(code, status === 404 ? 'No such resource.' : err.message);
}

/** Every error that reaches Nest leaves as RFC 9457 problem JSON (SPEC §5.4); nothing else does. */
@Catch()
export class ProblemFilter implements ExceptionFilter {
  constructor(
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(Metrics) private readonly metrics: Metrics,
  ) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const req = http.getRequest<import('node:http').IncomingMessage>();
    const res = http.getResponse<ServerResponse>();
    const ctx = contextOf(req);
    const requestId = ctx?.requestId ?? requestIdFrom(undefined);

    let error: GatewayError;
    if (exception instanceof GatewayError) error = exception;
    else if (exception instanceof HttpException) error = fromHttpException(exception);
    else if (exception instanceof StoreUnavailableError) error = stateUnavailable();
    else {
      this.logger.error({ category: 'system', requestId, err: exception }, 'unhandled error');
      this.metrics.internalErrors.labels('unhandled').inc();
      error = internalError();
    }
    if (ctx) ctx.errorCode = error.code;
    if (res.headersSent) {
      res.destroy();
      return;
    }
    sendProblem(res, error, requestId);
  }
}
