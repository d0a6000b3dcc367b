import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry, type MetricObjectWithValues, type MetricValue, type Registry } from 'prom-client';

/**
 * SPEC §11: with WORKERS > 1, `/metrics` on any worker reports every worker's series. The worker
 * that was scraped asks the primary; the primary collects each live worker's registry as JSON over
 * the cluster's IPC channel, adds its own (worker restarts), and sums them with prom-client's
 * AggregatorRegistry: counters and histograms add up; process metrics carry a `worker` label, so
 * each worker keeps its own series.
 */

type MetricsJson = MetricObjectWithValues<MetricValue<string>>[];

/** The IPC messages, all tagged with `type` and a request id. */
const ASK = 'gateway:metrics:ask'; // worker -> primary: scrape every worker
const COLLECT = 'gateway:metrics:collect'; // primary -> worker: your registry, please
const COLLECTED = 'gateway:metrics:collected'; // worker -> primary: { metrics }
const ANSWER = 'gateway:metrics:answer'; // primary -> worker: { text } or { error }

interface Message {
  type: string;
  id: number;
  metrics?: MetricsJson;
  text?: string;
  error?: string;
}

/** How long the primary waits for each worker, and a worker for the primary's answer. */
export const COLLECT_TIMEOUT_MS = 2000;
const ANSWER_TIMEOUT_MS = COLLECT_TIMEOUT_MS + 1000;

function isMessage(value: unknown): value is Message {
  return typeof value === 'object' && value !== null && typeof (value as Message).type === 'string' && typeof (value as Message).id === 'number';
}

/** Worker side: answer the primary's collection requests with this registry. Call once per worker. */
export function shareWorkerRegistry(registry: Registry): void {
  process.on('message', (msg: unknown) => {
    if (!isMessage(msg) || msg.type !== COLLECT) return;
    registry.getMetricsAsJSON().then(
      (metrics) => process.send?.({ type: COLLECTED, id: msg.id, metrics }),
      (err: unknown) => process.send?.({ type: COLLECTED, id: msg.id, metrics: [], error: String(err) }),
    );
  });
}

let nextAsk = 1;
const asks = new Map<number, { resolve: (text: string) => void; reject: (err: Error) => void; timer: NodeJS.Timeout }>();
let answering = false;

/** Worker side: the Prometheus text of every worker summed, from the primary. */
export function scrapeAllWorkers(): Promise<string> {
  if (!answering) {
    answering = true;
    process.on('message', (msg: unknown) => {
      if (!isMessage(msg) || msg.type !== ANSWER) return;
      const pending = asks.get(msg.id);
      if (pending === undefined) return;
      asks.delete(msg.id);
      clearTimeout(pending.timer);
      if (typeof msg.text === 'string') pending.resolve(msg.text);
      else pending.reject(new Error(`metrics of the workers unavailable: ${msg.error ?? 'no answer'}`));
    });
  }
  const id = nextAsk++;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      asks.delete(id);
      reject(new Error('metrics of the workers unavailable: the primary did not answer'));
    }, ANSWER_TIMEOUT_MS);
    asks.set(id, { resolve, reject, timer });
    process.send?.({ type: ASK, id });
  });
}

/** Primary side: sums the JSON registries (each worker's and the primary's own) into one exposition. */
export async function aggregateText(parts: MetricsJson[]): Promise<string> {
  return AggregatorRegistry.aggregate(parts).metrics();
}

let nextCollect = 1;

function collectFrom(worker: Worker): Promise<MetricsJson | null> {
  const id = nextCollect++;
  return new Promise((resolve) => {
    const done = (metrics: MetricsJson | null) => {
      clearTimeout(timer);
      worker.off('message', onMessage);
      worker.off('exit', onExit);
      resolve(metrics);
    };
    const onMessage = (msg: unknown) => {
      if (isMessage(msg) && msg.type === COLLECTED && msg.id === id) done(msg.metrics ?? []);
    };
    const onExit = () => done(null);
    const timer = setTimeout(() => done(null), COLLECT_TIMEOUT_MS);
    worker.on('message', onMessage);
    worker.once('exit', onExit);
    try {
      worker.send({ type: COLLECT, id });
    } catch {
      done(null);
    }
  });
}

/**
 * Primary side: answers every worker's ASK with the sum over the live workers and `own` (the
 * primary's registry). A worker that does not answer in time is left out of that scrape.
 */
export function answerScrapes(own: Registry, onMissing: (missing: number) => void): void {
  cluster.on('message', (asker: Worker, msg: unknown) => {
    if (!isMessage(msg) || msg.type !== ASK) return;
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && w.isConnected());
    void Promise.all([...workers.map(collectFrom), own.getMetricsAsJSON()])
      .then(async (parts) => {
        const found = parts.filter((p): p is MetricsJson => p !== null);
        if (found.length < parts.length) onMissing(parts.length - found.length);
        return aggregateText(found);
      })
      .then(
        (text) => asker.isConnected() && asker.send({ type: ANSWER, id: msg.id, text }),
        (err: unknown) => asker.isConnected() && asker.send({ type: ANSWER, id: msg.id, error: String(err) }),
      );
  });
}
