import { createHash } from 'node:crypto';
import http, { type IncomingHttpHeaders } from 'node:http';
import type { Redis } from 'ioredis';
import { ADMIN_TOKEN, startGateway, type TestGateway } from '../../support/gateway';
import { waitFor } from '../../support/redis-server';

/** Helpers shared by the e2e suites: a raw HTTP client (full control of headers and body framing) and Redis inspection. */

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  /** The body parsed as JSON, or undefined when it is not JSON (untyped on purpose: tests read any member). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- arbitrary JSON, asserted on by the tests
  json: any;
}

export interface SendOptions {
  headers?: Record<string, string>;
  /** Sent with Content-Length unless `chunked` (then Transfer-Encoding: chunked, in 64 KiB chunks). */
  body?: string | Buffer;
  chunked?: boolean;
  /** Announce this Content-Length but send only the first 64 KiB of `body`: for limits enforced on the header alone. */
  announceLength?: number;
  timeoutMs?: number;
  /** Send `path` exactly as given (no URL parsing, so dot segments and encodings reach the server unchanged). */
  verbatim?: boolean;
}

const PIECE = 64 * 1024;

/**
 * One request on a fresh connection. The body is written piece by piece with backpressure and writing
 * stops as soon as a response arrives (a 413 answers before the body is read). Bounded by `timeoutMs`.
 */
export function send(baseUrl: string, method: string, path: string, opts: SendOptions = {}): Promise<Reply> {
  const url = new URL(path, baseUrl);
  const body = opts.body === undefined ? undefined : Buffer.from(opts.body);
  const headers: Record<string, string> = { ...opts.headers };
  if (body !== undefined) {
    if (opts.chunked) headers['Transfer-Encoding'] = 'chunked';
    else headers['Content-Length'] = String(opts.announceLength ?? body.length);
  }
  return new Promise<Reply>((resolve, reject) => {
    let answered = false;
    const req = http.request(
      { host: url.hostname, port: url.port, method, path: opts.verbatim ? path : url.pathname + url.search, headers, agent: false },
      (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (err) => finish(err));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          finish(null, { status: res.statusCode ?? 0, headers: res.headers, text, json });
          req.destroy();
        });
      },
    );
    const timer = setTimeout(() => finish(new Error(`${method} ${path}: no response within ${opts.timeoutMs ?? 10_000} ms`)), opts.timeoutMs ?? 10_000);
    let settled = false;
    function finish(err: Error | null, reply?: Reply): void {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) {
        req.destroy();
        reject(err);
      } else resolve(reply!);
    }
    // A server that answers early and closes may reset our upload: only an error before any response counts.
    req.on('error', (err) => {
      if (!answered) finish(err);
    });
    if (body === undefined) {
      req.end();
      return;
    }
    const end = opts.announceLength !== undefined ? Math.min(PIECE, body.length) : body.length;
    let offset = 0;
    const pump = (): void => {
      while (offset < end && !answered && !req.destroyed) {
        const piece = body.subarray(offset, Math.min(offset + PIECE, end));
        offset += piece.length;
        if (!req.write(piece)) {
          req.once('drain', pump);
          return;
        }
      }
      // With an announced length larger than what was sent, leave the request open: the server must answer anyway.
      if (offset >= end && opts.announceLength === undefined && !answered) req.end();
    };
    pump();
  });
}

/** A request to the control plane, JSON in and out, with the admin token unless `token` says otherwise. */
export function admin(
  gw: TestGateway,
  method: string,
  path: string,
  body?: unknown,
  token: string | null = ADMIN_TOKEN,
): Promise<Reply> {
  const headers: Record<string, string> = {};
  if (token !== null) headers['X-Admin-Token'] = token;
  if (body !== undefined) headers['Content-Type'] = 'application/json; charset=utf-8';
  return send(gw.url, method, path, { headers, body: body === undefined ? undefined : JSON.stringify(body) });
}

/** Creates the tenant through the control plane and issues it one API key; returns the key. */
export async function createTenantWithKey(gw: TestGateway, tenant: Record<string, unknown>): Promise<string> {
  const created = await admin(gw, 'POST', '/admin/tenants', tenant);
  expect([created.status, created.text]).toEqual([201, created.text]);
  const key = await admin(gw, 'POST', `/admin/tenants/${String(tenant.id)}/keys`, {});
  expect([key.status, key.text]).toEqual([201, key.text]);
  expect(typeof key.json?.apiKey).toBe('string');
  return key.json.apiKey as string;
}

/** A data-plane request with an API key. */
export function api(gw: TestGateway, path: string, apiKey: string | null, method = 'GET'): Promise<Reply> {
  return send(gw.url, method, `/api${path}`, { headers: apiKey === null ? {} : { 'X-API-Key': apiKey } });
}

export const sha256Hex = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

/** Asserts an RFC 9457 problem document with this status and code, whose requestId matches the header. */
export function expectProblem(reply: Reply, status: number, code: string): void {
  const summary = `${reply.status} ${reply.text.slice(0, 300)}`;
  expect({ status: reply.status, code: reply.json?.code, summary }).toEqual({ status, code, summary });
  expect(reply.headers['content-type']).toMatch(/^application\/problem\+json\b/);
  expect(reply.json).toMatchObject({ type: 'about:blank', status, code });
  expect(typeof reply.json.title).toBe('string');
  expect(typeof reply.json.detail).toBe('string');
  expect(reply.json.requestId).toBe(reply.headers['x-request-id']);
}

/** Waits (bounded) until the gateway's store answers: with Redis, the connection is made in the background. */
export async function waitReady(gw: TestGateway, timeoutMs = 10_000): Promise<void> {
  await waitFor(async () => (await send(gw.url, 'GET', '/readyz')).status === 200, timeoutMs, 'gateway /readyz 200', 50);
}

/**
 * Two replicas on one Redis, as deployed: both ready and both subscribed to change notifications (each
 * logged it), so a change through one reaches the other. `env` is added to each one's environment.
 */
export async function startReplicas(redisUrl: string, env: Record<string, string> = {}): Promise<[TestGateway, TestGateway]> {
  const a = await startGateway({ REDIS_URL: redisUrl, ...env });
  const b = await startGateway({ REDIS_URL: redisUrl, ...env });
  await Promise.all([waitReady(a), waitReady(b)]);
  await waitFor(() => [a, b].every((gw) => gw.logs.some((l) => l.event === 'invalidation_subscribed')), 10_000, 'both replicas subscribed');
  return [a, b];
}

/** Every key in the Redis database with its value(s) as text, for searching for secrets. */
export async function dumpRedis(raw: Redis): Promise<{ key: string; value: string }[]> {
  const out: { key: string; value: string }[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await raw.scan(cursor, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) {
      const type = await raw.type(key);
      let value: string;
      if (type === 'string') value = (await raw.get(key)) ?? '';
      else if (type === 'hash') value = JSON.stringify(await raw.hgetall(key));
      else if (type === 'set') value = JSON.stringify(await raw.smembers(key));
      else if (type === 'list') value = JSON.stringify(await raw.lrange(key, 0, -1));
      else if (type === 'zset') value = JSON.stringify(await raw.zrange(key, 0, '-1', 'WITHSCORES'));
      else value = `<${type}>`;
      out.push({ key, value });
    }
  } while (cursor !== '0');
  return out;
}

/** Deletes what a suite wrote to a shared Redis (REDIS_URL): tenants and key metadata of its ids, mappings to them. */
export async function cleanupRedis(raw: Redis, ids: (id: string) => boolean): Promise<void> {
  for (const { key, value } of await dumpRedis(raw)) {
    const tenant = /^tenant:(?!byApiKey:)(.+)$/.exec(key)?.[1];
    const own = /^gw:\{(.+)\}:/.exec(key)?.[1];
    const mapped = key.startsWith('tenant:byApiKey:') ? value : undefined;
    if ([tenant, own, mapped].some((id) => id !== undefined && ids(id))) await raw.del(key);
  }
}
