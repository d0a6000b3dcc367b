import cluster from 'node:cluster';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { ERROR_CODES, ERROR_TABLE, type AuthFailureReason } from '../errors/error-table';
import { scrapeAllWorkers, shareWorkerRegistry } from './cluster-metrics';

/** SPEC §8: latency buckets from 1 to 3000 ms, including 50 and 3000. */
export const LATENCY_BUCKETS_MS = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2000, 3000];

/** `gateway_auth_failures_total{reason}` values (SPEC §8): the codes the error table counts as auth failures. */
export const AUTH_FAILURE_REASONS: readonly AuthFailureReason[] = Object.freeze(
  ERROR_CODES.filter((code): code is AuthFailureReason => ERROR_TABLE[code].metric === 'auth_failure'),
);

/** `gateway_store_up{role}` (SPEC §8): the connection that runs commands, and the pub/sub one. */
export type StoreRole = 'command' | 'pubsub';
/** `gateway_jwks_fetches_total{result}` (SPEC §8). */
export type JwksFetchResult = 'ok' | 'error' | 'throttled';

/** `gateway_worker_restarts_total` (SPEC §11): counted by the primary, 0 in a worker or a single process. */
export function workerRestartsCounter(registry: Registry): Counter {
  return new Counter({
    name: 'gateway_worker_restarts_total',
    help: 'Worker processes that died and were started again by the primary (WORKERS > 1).',
    registers: [registry],
  });
}

/** `control_mutations_total{action}` values (SPEC §8, §13). */
export const MUTATION_ACTIONS = ['tenant_create', 'tenant_update', 'tenant_delete', 'key_create', 'key_update', 'key_revoke', 'token_create', 'token_revoke'] as const;

export type MutationAction = (typeof MUTATION_ACTIONS)[number];

/**
 * Every metric of SPEC §8, with exactly its name, type and label names, in one registry per app
 * (never prom-client's global one, so two gateways in one process keep separate counts), plus
 * prom-client's default process metrics.
 */
export class Metrics {
  readonly registry = new Registry();

  readonly requests = new Counter({
    name: 'gateway_requests_total',
    help: 'Data-plane requests by tenant and HTTP status.',
    labelNames: ['tenantId', 'status'] as const,
    registers: [this.registry],
  });
  readonly authFailures = new Counter({
    name: 'gateway_auth_failures_total',
    help: 'Data-plane authentication failures by reason.',
    labelNames: ['tenantId', 'reason'] as const,
    registers: [this.registry],
  });
  readonly routeDenials = new Counter({
    name: 'gateway_route_denials_total',
    help: 'Requests denied because no allowed route matched path and method.',
    labelNames: ['tenantId'] as const,
    registers: [this.registry],
  });
  readonly rateLimited = new Counter({
    name: 'gateway_rate_limited_total',
    help: 'Requests refused with 429 because the tenant bucket was empty.',
    labelNames: ['tenantId'] as const,
    registers: [this.registry],
  });
  readonly denials = new Counter({
    name: 'gateway_denials_total',
    help: 'Data-plane answers the gateway made itself, by tenant and error code (bad_path, route_not_allowed, ...).',
    labelNames: ['tenantId', 'code'] as const,
    registers: [this.registry],
  });
  readonly upstreamErrors = new Counter({
    name: 'gateway_upstream_errors_total',
    help: 'Upstream 5xx responses and transport errors (refused, reset, timeout).',
    labelNames: ['tenantId'] as const,
    registers: [this.registry],
  });
  readonly internalErrors = new Counter({
    name: 'gateway_internal_errors_total',
    help: 'Errors inside the gateway by type (e.g. rate_limit_store).',
    labelNames: ['type'] as const,
    registers: [this.registry],
  });
  readonly latency = new Histogram({
    name: 'gateway_latency_ms',
    help: 'Data-plane request latency in milliseconds, as the client sees it.',
    labelNames: ['tenantId', 'status'] as const,
    buckets: LATENCY_BUCKETS_MS,
    registers: [this.registry],
  });
  readonly upstreamLatency = new Histogram({
    name: 'gateway_upstream_latency_ms',
    help: 'Time from sending the request upstream to its response headers, in milliseconds.',
    labelNames: ['tenantId', 'upstream'] as const,
    buckets: LATENCY_BUCKETS_MS,
    registers: [this.registry],
  });
  readonly websockets = new Gauge({
    name: 'gateway_websocket_connections',
    help: 'WebSocket connections open through the gateway, by tenant.',
    labelNames: ['tenantId'] as const,
    registers: [this.registry],
  });
  readonly inflight = new Gauge({
    name: 'gateway_inflight_requests',
    help: 'Data-plane requests in progress.',
    registers: [this.registry],
  });
  readonly controlRequests = new Counter({
    name: 'control_requests_total',
    help: 'Control-plane requests by route template and HTTP status.',
    labelNames: ['endpoint', 'status'] as const,
    registers: [this.registry],
  });
  readonly controlMutations = new Counter({
    name: 'control_mutations_total',
    help: 'Successful control-plane mutations by action.',
    labelNames: ['action'] as const,
    registers: [this.registry],
  });
  readonly controlErrors = new Counter({
    name: 'control_errors_total',
    help: 'Control-plane requests answered with a 5xx.',
    registers: [this.registry],
  });
  readonly controlLatency = new Histogram({
    name: 'control_latency_ms',
    help: 'Control-plane request latency in milliseconds by route template.',
    labelNames: ['endpoint'] as const,
    buckets: LATENCY_BUCKETS_MS,
    registers: [this.registry],
  });

  /** Asks the store whether its command connection answers now (a stalled Redis keeps its socket open). */
  private storeProbe: (() => Promise<boolean>) | null = null;
  readonly storeUp = new Gauge({
    name: 'gateway_store_up',
    help: 'Whether the state store answers on this connection (1) or not (0); with workers, 1 only when it does for all.',
    labelNames: ['role'] as const,
    registers: [this.registry],
    // Summed over workers, 1 + 1 would read "2 up": the least says whether every worker's connection answers.
    aggregator: 'min',
    collect: async () => {
      if (this.storeProbe !== null) this.storeUp.set({ role: 'command' }, (await this.storeProbe()) ? 1 : 0);
    },
  });
  readonly jwksFetches = new Counter({
    name: 'gateway_jwks_fetches_total',
    help: 'Key-set (JWKS) fetches by result: ok, error, or throttled (a refetch refused by the cooldown).',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly workerRestarts = workerRestartsCounter(this.registry);

  constructor() {
    // In a worker, process metrics are that worker's: summing them over workers would be wrong (SPEC §11).
    const worker = cluster.isWorker && cluster.worker ? { worker: String(cluster.worker.id) } : undefined;
    collectDefaultMetrics({ register: this.registry, ...(worker && { labels: worker }) });
    if (worker) shareWorkerRegistry(this.registry);
  }

  /** `gateway_store_up{role="command"}` is asked of the store at each scrape (a bounded PING). */
  probeStoreWith(probe: () => Promise<boolean>): void {
    this.storeProbe = probe;
  }

  /** The Prometheus text of this process or, in a worker, of every worker summed (SPEC §11). */
  scrape(): Promise<string> {
    return cluster.isWorker ? scrapeAllWorkers() : this.registry.metrics();
  }
}
