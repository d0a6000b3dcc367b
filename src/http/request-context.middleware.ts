import type { IncomingMessage, ServerResponse } from 'node:http';
import { ERROR_TABLE } from '../errors/error-table';
import { clientIp, type TrustProxy } from './forwarded';
import { planeOf } from './plane';
import type { Lifecycle } from '../lifecycle/lifecycle.service';
import type { Logger } from '../observability/logger';
import { contextOf, type ContextRequest, type RequestContext } from '../observability/request-context';
import { requestIdFrom, traceIdFrom } from '../observability/request-id';
import { endpointOf, type RequestMetrics } from '../observability/request-metrics';

/** The one `request` log line of a request (SPEC §8). */
interface RequestLine {
  category: 'request';
  requestId: string;
  tenantId: string;
  method: string | undefined;
  path: string;
  status: number;
  durationMs: number;
  ip: string | undefined;
  traceId?: string;
  code?: string;
}

/**
 * First middleware of every request: request id (SPEC §5.3), in-flight count for draining, and at the
 * end exactly one `request` log line, preceded by an `auth`/`policy` line when it was a denial, and
 * the SPEC §8 request metrics of the data and control planes (/healthz and /readyz are not counted).
 * The path is logged without its query string, which may carry secrets.
 */
export function requestContextMiddleware(logger: Logger, lifecycle: Lifecycle, metrics: RequestMetrics, trust: TrustProxy) {
  // These two lines are built here, field by field, from strings and numbers only: nothing in them
  // can carry a header or a secret, so they skip the logger's redaction, which otherwise runs every
  // field of every line through its wildcard paths (the largest part of a line's cost).
  const lines = logger.child({}, { redact: [] });

  // One listener for every response, reading its request from `this`: no closure per request.
  function onClose(this: ServerResponse): void {
    const req = this.req;
    const ctx = contextOf(req);
    lifecycle.requestEnded(this);
    const durationMs = performance.now() - ctx.startedAt;
    const status = ctx.upgradeStatus ?? (this.writableFinished ? this.statusCode : 499);
    if (ctx.plane === 'data') metrics.dataEnded(ctx, status, durationMs);
    else if (ctx.plane === 'control') metrics.controlEnded(endpointOf(req), status, durationMs);
    const tenantId = ctx.tenantId ?? 'unknown';
    const code = ctx.errorCode;
    const q = ctx.target.indexOf('?');
    const path = q === -1 ? ctx.target : ctx.target.slice(0, q);
    const category = code === undefined ? null : ERROR_TABLE[code].category;
    if (category !== null) {
      lines.info({ category, requestId: ctx.requestId, tenantId, decision: 'deny', reason: code, method: req.method, path }, 'request denied');
    }
    const line: RequestLine = {
      category: 'request',
      requestId: ctx.requestId,
      tenantId,
      method: req.method,
      path,
      status,
      durationMs: Math.round(durationMs * 100) / 100,
      ip: clientIp(req, trust),
    };
    // Assigned, not spread: one object per request line, and absent fields stay absent.
    if (ctx.traceId !== undefined) line.traceId = ctx.traceId;
    if (code !== undefined) line.code = code;
    lines.info(line, 'request');
  }

  return (req: IncomingMessage, res: ServerResponse, next: () => void): void => {
    const rawUrl = req.url ?? '/';
    const ctx: RequestContext = {
      requestId: requestIdFrom(req.headers['x-request-id']),
      startedAt: performance.now(),
      traceId: traceIdFrom(req.headers.traceparent),
      plane: planeOf(rawUrl),
      target: rawUrl,
    };
    (req as ContextRequest).ctx = ctx;
    res.setHeader('X-Request-Id', ctx.requestId);
    lifecycle.requestStarted(res);
    if (ctx.plane === 'data') metrics.dataStarted();
    // 'close' is emitted once per response: `on` spares the wrapper `once` builds.
    res.on('close', onClose);
    next();
  };
}
