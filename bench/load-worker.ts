import { createHistogram } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { announceReady, exitWithParent } from './child-ipc';
import type { LoadResult, LoadSpec, WorkerReply, WorkerRequest } from './load-types';

/**
 * The autocannon load generator, a long-lived child process (pinned apart from the proxies) that runs
 * one load run per IPC request. Latency is kept in microseconds from autocannon's per-response timings:
 * its own summary rounds to whole milliseconds, too coarse for a proxy on loopback.
 */

/** autocannon stops at its first sample tick after the duration: a short tick keeps runs close to it. */
const SAMPLE_MS = 250;

function reply(message: WorkerReply): void {
  process.send?.(message);
}

/** Shared by every connection of one run, so no two requests in a row carry the same token. */
function rotatingTokens(tokens: string[]): (request: autocannon.Request) => autocannon.Request {
  let next = 0;
  return (request) => {
    const token = tokens[next++ % tokens.length];
    return { ...request, headers: { ...request.headers, authorization: `Bearer ${token}` } };
  };
}

function run(spec: LoadSpec): Promise<LoadResult> {
  const latencyUs = createHistogram({ lowest: 1, highest: 120_000_000, figures: 3 });
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: spec.url,
        connections: spec.connections,
        duration: spec.durationS,
        headers: spec.headers,
        pipelining: 1,
        timeout: 10,
        sampleInt: SAMPLE_MS,
        ...(spec.tokens !== undefined && { requests: [{ setupRequest: rotatingTokens(spec.tokens) }] }),
      },
      (err: unknown, result: autocannon.Result) => {
        if (err) return reject(err instanceof Error ? err : new Error(JSON.stringify(err)));
        const statusCounts: Record<string, number> = {};
        const stats = (result as unknown as { statusCodeStats?: Record<string, { count: number }> }).statusCodeStats ?? {};
        for (const [code, { count }] of Object.entries(stats)) statusCounts[code] = count;
        const ok = result['2xx'];
        resolve({
          responses: result.requests.total,
          ok,
          non2xx: result.non2xx,
          errors: result.errors,
          timeouts: result.timeouts,
          statusCounts,
          durationS: result.duration,
          reqPerSec: ok / result.duration,
          p50Ms: latencyUs.count === 0 ? 0 : latencyUs.percentile(50) / 1000,
          p99Ms: latencyUs.count === 0 ? 0 : latencyUs.percentile(99) / 1000,
        });
      },
    );
    instance.on('response', (_client: unknown, _status: number, _bytes: number, responseTimeMs: number) => {
      latencyUs.record(Math.max(1, Math.round(responseTimeMs * 1000)));
    });
  });
}

process.on('message', (message: WorkerRequest) => {
  if (message.type !== 'run') return;
  run(message.spec).then(
    (result) => reply({ type: 'result', id: message.id, result }),
    (err: unknown) => reply({ type: 'error', id: message.id, message: err instanceof Error ? err.message : String(err) }),
  );
});
exitWithParent();
announceReady();
