import { Registry } from 'prom-client';
import { aggregateText } from '../../../src/observability/cluster-metrics';
import { Metrics, workerRestartsCounter } from '../../../src/observability/metrics';
import { parseExposition, sumOf } from '../../support/prometheus-text';

/** What two workers and the primary send the primary, summed as a scrape of any worker shows it (SPEC §11). */
describe('aggregateText', () => {
  it('adds counters and histograms over workers, keeps per-worker series apart, and reads store_up as the least', async () => {
    const a = new Metrics();
    const b = new Metrics();
    a.requests.inc({ tenantId: 't', status: '200' }, 3);
    b.requests.inc({ tenantId: 't', status: '200' }, 4);
    b.requests.inc({ tenantId: 't', status: '429' });
    a.latency.observe({ tenantId: 't', status: '200' }, 10);
    b.latency.observe({ tenantId: 't', status: '200' }, 2000);
    a.inflight.set(2);
    b.inflight.set(1);
    a.storeUp.set({ role: 'command' }, 1);
    b.storeUp.set({ role: 'command' }, 0);
    a.storeUp.set({ role: 'pubsub' }, 1);
    b.storeUp.set({ role: 'pubsub' }, 1);
    const primary = new Registry();
    workerRestartsCounter(primary).inc(2);

    const text = await aggregateText([await a.registry.getMetricsAsJSON(), await b.registry.getMetricsAsJSON(), await primary.getMetricsAsJSON()]);
    const samples = parseExposition(text);
    expect(sumOf(samples, 'gateway_requests_total', { tenantId: 't', status: '200' })).toBe(7);
    expect(sumOf(samples, 'gateway_requests_total', { tenantId: 't', status: '429' })).toBe(1);
    expect(sumOf(samples, 'gateway_latency_ms_count', { tenantId: 't', status: '200' })).toBe(2);
    expect(sumOf(samples, 'gateway_latency_ms_bucket', { tenantId: 't', status: '200', le: '50' })).toBe(1);
    expect(sumOf(samples, 'gateway_latency_ms_bucket', { tenantId: 't', status: '200', le: '3000' })).toBe(2);
    expect(sumOf(samples, 'gateway_inflight_requests')).toBe(3);
    expect(sumOf(samples, 'gateway_store_up', { role: 'command' })).toBe(0);
    expect(sumOf(samples, 'gateway_store_up', { role: 'pubsub' })).toBe(1);
    // The workers' own counters are 0; the primary's count is the one reported.
    expect(sumOf(samples, 'gateway_worker_restarts_total')).toBe(2);
  });
});
