import type { ArgumentsHost } from '@nestjs/common';
import {
  BadRequestException,
  ConflictException,
  ForbiddenException,
  MethodNotAllowedException,
  NotFoundException,
  PayloadTooLargeException,
  UnsupportedMediaTypeException,
} from '@nestjs/common';
import { GatewayError } from '../../../src/errors/gateway-error';
import { ProblemFilter } from '../../../src/http/problem.filter';
import { Metrics } from '../../../src/observability/metrics';
import type { RequestContext } from '../../../src/observability/request-context';
import { StoreUnavailableError } from '../../../src/store/store.port';
import { capturedLogger } from '../../support/captured-logger';
import { RecordingResponse } from '../../support/recording-response';

/*
 * The filter every error leaves through: each kind of failure becomes its problem JSON, only the
 * unexpected ones count as internal errors.
 */

function setup() {
  const { logger, lines } = capturedLogger();
  const metrics = new Metrics();
  const filter = new ProblemFilter(logger, metrics);
  const internal = async (type: string): Promise<number> =>
    (await metrics.internalErrors.get()).values.find((v) => v.labels.type === type)?.value ?? 0;
  return { filter, lines, internal };
}

function host(ctx: Partial<RequestContext>, res: RecordingResponse): ArgumentsHost {
  // The filter writes errorCode into this very object, as into a request's context.
  const req = { ctx: Object.assign(ctx, { requestId: 'req-f', startedAt: 0, traceId: undefined, plane: ctx.plane ?? 'data' }) };
  const http = { getRequest: () => req, getResponse: () => res.asServerResponse(), getNext: () => undefined };
  return { switchToHttp: () => http, getType: () => 'http' } as unknown as ArgumentsHost;
}


describe('ProblemFilter', () => {
  it('answers an unexpected error 500 internal_error, logs it and counts it as unhandled', async () => {
    const { filter, lines, internal } = setup();
    const res = new RecordingResponse();
    const ctx: Partial<RequestContext> = {};
    filter.catch(new TypeError('boom'), host(ctx, res));
    expect(res.statusCode).toBe(500);
    expect(JSON.parse(res.body!)).toMatchObject({ status: 500, code: 'internal_error', requestId: 'req-f' });
    expect(await internal('unhandled')).toBe(1);
    expect(lines).toEqual([expect.objectContaining({ category: 'system', requestId: 'req-f', msg: 'unhandled error' })]);
  });

  it.each([
    ['a GatewayError', new GatewayError('tenant_exists', 'x'), 409, 'tenant_exists'],
    ['a store that cannot answer', new StoreUnavailableError(), 503, 'state_unavailable'],
    ["Nest's own 404", new NotFoundException(), 404, 'not_found'],
    ["Nest's own 405", new MethodNotAllowedException(), 405, 'method_not_allowed'],
    ["Nest's own 403 (a guard that returned false)", new ForbiddenException(), 403, 'forbidden'],
    ["Nest's own 400", new BadRequestException(), 400, 'bad_request'],
    ["Nest's own 413", new PayloadTooLargeException(), 413, 'payload_too_large'],
    ["Nest's own 415", new UnsupportedMediaTypeException(), 415, 'unsupported_media_type'],
    ['a Nest error of a status no table code names', new ConflictException(), 500, 'internal_error'],
  ])('answers %s with its own code and counts no internal error', async (_name, error, status, code) => {
    const { filter, lines, internal } = setup();
    const res = new RecordingResponse();
    const ctx: Partial<RequestContext> = { plane: 'control' };
    filter.catch(error, host(ctx, res));
    expect([res.statusCode, JSON.parse(res.body!).code, ctx.errorCode]).toEqual([status, code, code]);
    expect(await internal('unhandled')).toBe(0);
    expect(lines).toEqual([]);
  });

  it('cuts the connection when the response has already started', async () => {
    const { filter } = setup();
    const res = new RecordingResponse();
    res.headersSent = true;
    filter.catch(new Error('mid-body'), host({}, res));
    expect([res.destroyed, res.ends]).toEqual([true, 0]);
  });
});
