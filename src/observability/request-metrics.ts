import type { IncomingMessage } from 'node:http';
import type { Counter, Histogram } from 'prom-client';
import { ERROR_TABLE } from '../errors/error-table';
import type { Metrics } from './metrics';
import type { RequestContext } from './request-context';

/** `endpoint` of a control-plane request that matched no route (or was refused before routing). */
export const UNMATCHED_ENDPOINT = 'unmatched';

/**
 * The route template Express matched (`/admin/tenants/:id`), never the raw path: label values stay
 * bounded whatever paths clients send. Requests that matched no route share one value.
 */
export function endpointOf(req: IncomingMessage): string {
  const path = (req as IncomingMessage & { route?: { path?: unknown } }).route?.path;
  return typeof path === 'string' && path !== '' ? path : UNMATCHED_ENDPOINT;
}

interface DataChildren {
  requests: Counter.Internal;
  latency: Histogram.Internal<'tenantId' | 'status'>;
}

interface ControlChildren {
  requests: Counter.Internal;
  latency: Histogram.Internal<'endpoint'>;
}

/**
 * Records SPEC §8 metrics once per finished request. The labelled children are looked up once per
 * (tenant, status) or (endpoint, status) and kept: the hot path does two map reads, no label
 * object and no string building. Both key spaces are bounded (tenants, route templates, statuses).
 */
export class RequestMetrics {
  private readonly data = new Map<string, Map<number, DataChildren>>();
  private readonly control = new Map<string, Map<number, ControlChildren>>();

  constructor(private readonly metrics: Metrics) {}

  dataStarted(): void {
    this.metrics.inflight.inc();
  }

  dataEnded(ctx: RequestContext, status: number, ms: number): void {
    this.metrics.inflight.dec();
    const tenantId = ctx.tenantId ?? 'unknown';
    const children = this.dataChildren(tenantId, status);
    children.requests.inc();
    // A WebSocket's time is its lifetime, not a latency.
    if (status !== 101) children.latency.observe(ms);
    const code = ctx.errorCode;
    if (code === undefined) return;
    this.metrics.denials.labels(tenantId, code).inc();
    switch (ERROR_TABLE[code].metric) {
      case 'auth_failure':
        this.metrics.authFailures.labels(tenantId, code).inc();
        break;
      case 'route_denial':
        this.metrics.routeDenials.labels(tenantId).inc();
        break;
      case 'rate_limited':
        this.metrics.rateLimited.labels(tenantId).inc();
        break;
    }
  }

  controlEnded(endpoint: string, status: number, ms: number): void {
    const children = this.controlChildren(endpoint, status);
    children.requests.inc();
    children.latency.observe(ms);
    if (status >= 500) this.metrics.controlErrors.inc();
  }

  private dataChildren(tenantId: string, status: number): DataChildren {
    let byStatus = this.data.get(tenantId);
    if (byStatus === undefined) this.data.set(tenantId, (byStatus = new Map<number, DataChildren>()));
    let children = byStatus.get(status);
    if (children === undefined) {
      const label = String(status);
      children = {
        requests: this.metrics.requests.labels(tenantId, label),
        latency: this.metrics.latency.labels(tenantId, label),
      };
      byStatus.set(status, children);
    }
    return children;
  }

  private controlChildren(endpoint: string, status: number): ControlChildren {
    let byStatus = this.control.get(endpoint);
    if (byStatus === undefined) this.control.set(endpoint, (byStatus = new Map<number, ControlChildren>()));
    let children = byStatus.get(status);
    if (children === undefined) {
      children = {
        requests: this.metrics.controlRequests.labels(endpoint, String(status)),
        latency: this.metrics.controlLatency.labels(endpoint),
      };
      byStatus.set(status, children);
    }
    return children;
  }
}
