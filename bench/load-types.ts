/** What one load run asks for and what it measured; shared by the orchestrator and the load worker. */

export interface LoadSpec {
  url: string;
  connections: number;
  durationS: number;
  headers: Record<string, string>;
  /** When set, request i carries `Authorization: Bearer <tokens[i mod n]>` (a new token per request). */
  tokens?: string[];
}

export interface LoadResult {
  /** Responses completed within the run, whatever their status. */
  responses: number;
  /** 2xx responses. */
  ok: number;
  non2xx: number;
  /** Transport errors (refused, reset, timed out) reported by the generator. */
  errors: number;
  timeouts: number;
  /** Response count by status code, where the generator reports it. */
  statusCounts: Record<string, number>;
  /** Measured wall time of the run, in seconds. */
  durationS: number;
  /** 2xx responses per second. */
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
}

export type WorkerRequest = { type: 'run'; id: number; spec: LoadSpec };
export type WorkerReply = { type: 'result'; id: number; result: LoadResult } | { type: 'error'; id: number; message: string };
