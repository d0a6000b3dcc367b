import http from 'node:http';
import { sleep } from './processes';

export interface SimpleResponse {
  status: number;
  body: string;
}

/** One bounded request with a fresh connection; the body is read whole (small answers only). */
export function request(
  url: string,
  opts: { headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<SimpleResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { headers: opts.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.setTimeout(opts.timeoutMs ?? 5000, () => req.destroy(new Error(`no answer from ${url} within ${opts.timeoutMs ?? 5000} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/** Polls `url` until it answers 200, for at most `timeoutMs`; `alive` stops early when the server died. */
export async function waitFor200(url: string, timeoutMs: number, alive: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (!alive()) throw new Error(`the server behind ${url} exited while starting`);
    try {
      const res = await request(url, { timeoutMs: 1000 });
      if (res.status === 200) return;
      last = `status ${res.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(100);
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs} ms (last: ${last})`);
}
