import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { RssSampler, rssBytes } from './proc';
import { sleep } from './processes';
import { writeBytes } from './stream';

/**
 * Memory of a gateway process under streamed transfers and a flood of unknown API keys: resident
 * memory (VmRSS) sampled every 50 ms, peak during the test minus the level just before it.
 */

const MIB = 1024 * 1024;

export interface MemoryResult {
  test: string;
  detail: string;
  beforeBytes: number;
  peakBytes: number;
  growthBytes: number;
  /** VmRSS one second after the test: tells memory still held from memory not yet returned. */
  afterBytes: number;
  limitBytes: number;
  pass: boolean;
  durationS: number;
  /** Why the test itself failed (wrong status, short transfer), or null. */
  failure: string | null;
}

interface Target {
  url: string;
  pid: number;
  apiKey: string;
}

/** Streams `total` bytes as a chunked PUT body, honouring backpressure; resolves with the status and the upstream's count. */
function upload(target: Target, total: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${target.url}/api/sink`, { method: 'PUT', headers: { 'x-api-key': target.apiKey, 'content-type': 'application/octet-stream' }, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.setTimeout(60_000, () => req.destroy(new Error('upload stalled for 60 s')));
    writeBytes(req, total, () => req.end());
  });
}

/** GETs a stream of `total` bytes and discards it; resolves with the status and the bytes received. */
function download(target: Target, total: number): Promise<{ status: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${target.url}/api/stream/${total}`, { headers: { 'x-api-key': target.apiKey }, agent: false }, (res) => {
      let bytes = 0;
      res.on('data', (chunk: Buffer) => (bytes += chunk.length));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(60_000, () => req.destroy(new Error('download stalled for 60 s')));
  });
}

/** `count` GETs, each with a different unknown key, `inFlight` at a time over keep-alive; returns statuses seen. */
async function unknownKeys(target: Target, count: number, inFlight: number): Promise<Map<number, number>> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: inFlight });
  const statuses = new Map<number, number>();
  let next = 0;
  const one = (): Promise<void> =>
    new Promise((resolve) => {
      const key = `unknown-${randomBytes(16).toString('hex')}`;
      const req = http.get(`${target.url}/api/small`, { headers: { 'x-api-key': key }, agent }, (res) => {
        res.resume();
        res.on('end', () => {
          statuses.set(res.statusCode ?? 0, (statuses.get(res.statusCode ?? 0) ?? 0) + 1);
          resolve();
        });
      });
      req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
      req.on('error', () => {
        statuses.set(0, (statuses.get(0) ?? 0) + 1);
        resolve();
      });
    });
  const lane = async (): Promise<void> => {
    while (next < count) {
      next++;
      await one();
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  agent.destroy();
  return statuses;
}

async function measure(target: Target, test: string, detail: string, limitBytes: number, body: () => Promise<string | null>): Promise<MemoryResult> {
  await sleep(500);
  const beforeBytes = rssBytes(target.pid);
  const sampler = new RssSampler(target.pid, 50).start();
  const started = performance.now();
  let failure: string | null;
  try {
    failure = await body();
  } catch (err) {
    failure = (err as Error).message;
  }
  const durationS = (performance.now() - started) / 1000;
  const { peakBytes } = sampler.stop();
  const growthBytes = Math.max(0, peakBytes - beforeBytes);
  await sleep(1000);
  const afterBytes = rssBytes(target.pid);
  return { test, detail, beforeBytes, peakBytes, growthBytes, afterBytes, limitBytes, pass: failure === null && growthBytes < limitBytes, durationS, failure };
}

export interface MemoryPlan {
  transferBytes: number;
  unknownKeys: number;
  inFlight: number;
}

/** Warms the process (so first-use code and buffers are not counted as growth), then runs the three tests. */
export async function runMemoryTests(target: Target, plan: MemoryPlan, progress: (line: string) => void): Promise<MemoryResult[]> {
  await upload(target, 16 * MIB);
  await download(target, 16 * MIB);
  await unknownKeys(target, 500, plan.inFlight);
  const size = `${plan.transferBytes / MIB} MiB`;
  const results: MemoryResult[] = [];

  progress(`memory: streamed upload of ${size}`);
  results.push(
    await measure(target, `upload ${size}`, 'PUT, chunked, 64 KiB writes; the upstream discards it', 50 * MIB, async () => {
      const res = await upload(target, plan.transferBytes);
      const bytes = res.status === 200 ? (JSON.parse(res.body) as { bytes: number }).bytes : -1;
      return res.status === 200 && bytes === plan.transferBytes ? null : `status ${res.status}, upstream received ${bytes} bytes`;
    }),
  );
  progress(`memory: streamed download of ${size}`);
  results.push(
    await measure(target, `download ${size}`, 'GET, Content-Length; the client discards it', 50 * MIB, async () => {
      const res = await download(target, plan.transferBytes);
      return res.status === 200 && res.bytes === plan.transferBytes ? null : `status ${res.status}, received ${res.bytes} bytes`;
    }),
  );
  progress(`memory: ${plan.unknownKeys} requests with distinct unknown API keys`);
  results.push(
    await measure(target, `${plan.unknownKeys} unknown API keys`, `${plan.inFlight} in flight, each must be 401`, 64 * MIB, async () => {
      const statuses = await unknownKeys(target, plan.unknownKeys, plan.inFlight);
      const other = [...statuses.entries()].filter(([status]) => status !== 401);
      return other.length === 0 ? null : `not all 401: ${other.map(([s, n]) => `${n}x ${s === 0 ? 'error' : s}`).join(', ')}`;
    }),
  );
  return results;
}
