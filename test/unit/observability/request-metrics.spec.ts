import type { IncomingMessage } from 'node:http';
import { Metrics } from '../../../src/observability/metrics';
import type { RequestContext } from '../../../src/observability/request-context';
import { endpointOf, RequestMetrics, UNMATCHED_ENDPOINT } from '../../../src/observability/request-metrics';
import { parseExposition, sumOf } from '../../support/prometheus-text';

const withRoute = (route: unknown) => ({ route }) as unknown as IncomingMessage;

describe('endpointOf', () => {
  it('is the route template Express matched, not the path that was requested', () => {
    expect(endpointOf(withRoute({ path: '/admin/tenants/:id/keys/:keyId' }))).toBe('/admin/tenants/:id/keys/:keyId');
  });

  it.each([
    ['no route (nothing matched)', undefined],
    ['a route without a path', {}],
    ['a non-string path (a pattern)', { path: /^\/admin/ }],
    ['an empty path', { path: '' }],
  ])('is the one fixed value for %s', (_label, route) => {
    expect(endpointOf(withRoute(route))).toBe(UNMATCHED_ENDPOINT);
  });
});

/** The sum of the samples named `name` with these labels, read from the registry's text exposition. */
async function value(metrics: Metrics, name: string, labels: Record<string, string> = {}): Promise<number> {
  return sumOf(parseExposition(await metrics.registry.metrics()), name, labels);
}

describe('RequestMetrics', () => {
  it('counts a data-plane request under its tenant and status, with its latency, and tracks in-flight', async () => {
    const metrics = new Metrics();
    const recorder = new RequestMetrics(metrics);
    recorder.dataStarted();
    recorder.dataStarted();
    expect(await value(metrics, 'gateway_inflight_requests')).toBe(2);
    recorder.dataEnded({ tenantId: 'acme' } as RequestContext, 200, 12);
    recorder.dataEnded({ tenantId: 'acme' } as RequestContext, 200, 40);
    expect(await value(metrics, 'gateway_inflight_requests')).toBe(0);
    expect(await value(metrics, 'gateway_requests_total', { tenantId: 'acme', status: '200' })).toBe(2);
    expect(await value(metrics, 'gateway_latency_ms_count', { tenantId: 'acme', status: '200' })).toBe(2);
  });

  it.each(['missing_api_key', 'invalid_api_key', 'missing_jwt', 'invalid_jwt', 'jwks_unavailable'])(
    'counts %s as an auth failure and nothing else',
    async (reason) => {
      const metrics = new Metrics();
      new RequestMetrics(metrics).dataEnded({ errorCode: reason } as RequestContext, 401, 1);
      expect(await value(metrics, 'gateway_auth_failures_total', { tenantId: 'unknown', reason })).toBe(1);
      expect(await value(metrics, 'gateway_route_denials_total')).toBe(0);
      expect(await value(metrics, 'gateway_rate_limited_total')).toBe(0);
    },
  );

  it('counts route denials and rate-limited requests under the resolved tenant', async () => {
    const metrics = new Metrics();
    const recorder = new RequestMetrics(metrics);
    recorder.dataEnded({ tenantId: 'acme', errorCode: 'route_not_allowed' } as RequestContext, 403, 1);
    recorder.dataEnded({ tenantId: 'acme', errorCode: 'rate_limited' } as RequestContext, 429, 1);
    recorder.dataEnded({ tenantId: 'acme', errorCode: 'tenant_disabled' } as RequestContext, 403, 1);
    expect(await value(metrics, 'gateway_route_denials_total', { tenantId: 'acme' })).toBe(1);
    expect(await value(metrics, 'gateway_rate_limited_total', { tenantId: 'acme' })).toBe(1);
    expect(await value(metrics, 'gateway_auth_failures_total')).toBe(0);
    expect(await value(metrics, 'gateway_requests_total', { tenantId: 'acme', status: '403' })).toBe(2);
  });

  it('counts every answer with a code in gateway_denials_total, by tenant and code (SPEC §8, §18)', async () => {
    const metrics = new Metrics();
    const recorder = new RequestMetrics(metrics);
    recorder.dataEnded({ errorCode: 'bad_request' } as RequestContext, 400, 1);
    recorder.dataEnded({ errorCode: 'method_not_allowed' } as RequestContext, 405, 1);
    recorder.dataEnded({ tenantId: 'acme', errorCode: 'bad_path' } as RequestContext, 400, 1);
    recorder.dataEnded({ tenantId: 'acme', errorCode: 'bad_path' } as RequestContext, 400, 1);
    recorder.dataEnded({ tenantId: 'acme', errorCode: 'route_not_allowed' } as RequestContext, 403, 1);
    recorder.dataEnded({ tenantId: 'acme' } as RequestContext, 200, 1);
    expect(await value(metrics, 'gateway_denials_total', { tenantId: 'unknown', code: 'bad_request' })).toBe(1);
    expect(await value(metrics, 'gateway_denials_total', { tenantId: 'unknown', code: 'method_not_allowed' })).toBe(1);
    expect(await value(metrics, 'gateway_denials_total', { tenantId: 'acme', code: 'bad_path' })).toBe(2);
    expect(await value(metrics, 'gateway_denials_total', { tenantId: 'acme', code: 'route_not_allowed' })).toBe(1);
    expect(await value(metrics, 'gateway_denials_total')).toBe(5);
  });

  it('counts control-plane requests by endpoint and status, and 5xx answers as control errors', async () => {
    const metrics = new Metrics();
    const recorder = new RequestMetrics(metrics);
    recorder.controlEnded('/admin/tenants/:id', 200, 3);
    recorder.controlEnded('/admin/tenants/:id', 503, 3);
    recorder.controlEnded(UNMATCHED_ENDPOINT, 401, 1);
    expect(await value(metrics, 'control_requests_total', { endpoint: '/admin/tenants/:id', status: '200' })).toBe(1);
    expect(await value(metrics, 'control_requests_total', { endpoint: '/admin/tenants/:id', status: '503' })).toBe(1);
    expect(await value(metrics, 'control_requests_total', { endpoint: 'unmatched', status: '401' })).toBe(1);
    expect(await value(metrics, 'control_latency_ms_count', { endpoint: '/admin/tenants/:id' })).toBe(2);
    expect(await value(metrics, 'control_errors_total')).toBe(1);
  });
});
