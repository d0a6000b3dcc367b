import { createHash, randomBytes } from 'node:crypto';
import http, { STATUS_CODES, type IncomingHttpHeaders } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import { Readable } from 'node:stream';
import { ADMIN_TOKEN, startGateway, type TestGateway } from '../support/gateway';
import { freePort, sleep, startRedis, waitFor, type RedisHandle } from '../support/redis-server';
import { patternSha256, startUpstream, type EchoReply, type Upstream } from '../support/upstream';
import { createTenantWithKey } from './helpers/e2e-http';

/*
 * End-to-end tests of ANY /api/* (SPEC §5, §5.1, §5.3, §5.4, §7): the real app (createApp, through
 * startGateway) on the Redis store of a real redis-server, a real upstream, and raw HTTP requests so
 * that nothing normalizes a path or a header before the gateway sees it.
 */

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

const MiB = 1024 * 1024;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Unique per run, so the suite can share a REDIS_URL server with other runs. */
const RUN = randomBytes(3).toString('hex');
const tenantId = (name: string): string => `e2e-${RUN}-${name}`;

interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  text: string;
}

interface CallOptions {
  method?: string;
  /** Sent byte for byte as the request-target. */
  path: string;
  headers?: Record<string, string | string[]>;
  /** A Buffer is sent with Content-Length (unless one is given); a Readable is streamed chunked. */
  body?: Buffer | Readable;
  /** Destroys the socket after this many ms (the promise then rejects unless a response came). */
  abortAfterMs?: number;
  /** Fails the call when no complete response came within this many ms (default 10 s). */
  timeoutMs?: number;
}

/** Client requests still open, destroyed in afterAll so that a failed test cannot hang the teardown. */
const openRequests = new Set<http.ClientRequest>();

/**
 * One request on its own connection with node:http, whose request-target is not normalized. Resolves
 * with the full response; write errors after the response has started (a 413 that closes the
 * connection while the body is still being sent) do not fail it.
 */
function call(gw: { url: string }, opts: CallOptions): Promise<RawResponse> {
  const { hostname, port } = new URL(gw.url);
  const timeoutMs = opts.timeoutMs ?? 10_000;
  return new Promise((resolve, reject) => {
    let responded = false;
    const req = http.request({
      host: hostname,
      port: Number(port),
      method: opts.method ?? 'GET',
      path: opts.path,
      headers: opts.headers,
      agent: false,
    });
    openRequests.add(req);
    const timer = setTimeout(() => {
      reject(new Error(`no complete response to ${opts.method ?? 'GET'} ${opts.path} within ${timeoutMs} ms`));
      req.destroy();
    }, timeoutMs);
    req.on('close', () => openRequests.delete(req));
    req.on('response', (res) => {
      responded = true;
      if (opts.body instanceof Readable) {
        opts.body.unpipe(req);
        opts.body.destroy();
      }
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        clearTimeout(timer);
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text: body.toString('utf8') });
      });
      res.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
    req.on('error', (err) => {
      if (responded) return;
      clearTimeout(timer);
      reject(err);
    });
    if (opts.abortAfterMs !== undefined) setTimeout(() => req.destroy(), opts.abortAfterMs);
    if (opts.body instanceof Readable) {
      opts.body.on('error', () => undefined);
      // Headers go out now, even if the body has nothing to send yet.
      req.flushHeaders();
      opts.body.pipe(req);
    } else {
      req.end(opts.body);
    }
  });
}

/**
 * Writes `raw` bytes on a new TCP connection and returns the response head, and whether the server
 * closed the connection by itself within `waitMs` after answering.
 */
function rawExchange(gw: { url: string }, raw: string, waitMs = 2000): Promise<{ head: string; closedByServer: boolean }> {
  const { hostname, port } = new URL(gw.url);
  return new Promise((resolve, reject) => {
    let received = '';
    const socket = net.connect(Number(port), hostname, () => socket.write(raw));
    const finish = (closedByServer: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      const end = received.indexOf('\r\n\r\n');
      if (end === -1) reject(new Error(`no response head (closed: ${closedByServer}): ${received.slice(0, 200)}`));
      else resolve({ head: received.slice(0, end + 2), closedByServer });
    };
    const timer = setTimeout(() => finish(false), waitMs);
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
    socket.on('end', () => finish(true));
    socket.on('error', reject);
  });
}

/** A chunked body of `total` bytes of pseudo-random data, with the SHA-256 it will have. */
function randomStream(total: number, chunkSize = 64 * 1024): { stream: Readable; sha256: string } {
  const block = randomBytes(chunkSize);
  const hash = createHash('sha256');
  for (let left = total; left > 0; left -= chunkSize) hash.update(block.subarray(0, Math.min(chunkSize, left)));
  function* chunks(): Generator<Buffer> {
    for (let left = total; left > 0; left -= chunkSize) yield block.subarray(0, Math.min(chunkSize, left));
  }
  return { stream: Readable.from(chunks(), { objectMode: false }), sha256: hash.digest('hex') };
}

const json = (res: RawResponse): Record<string, unknown> => JSON.parse(res.text) as Record<string, unknown>;
const echo = (res: RawResponse): EchoReply => JSON.parse(res.text) as EchoReply;

/** SPEC §5.4: a response the gateway produced itself, as RFC 9457 problem JSON. */
function expectProblem(res: RawResponse, status: number, code: string): Record<string, unknown> {
  expect({ status: res.status, body: res.text }).toMatchObject({ status });
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json\b/);
  const body = json(res);
  expect(body).toMatchObject({ type: 'about:blank', title: STATUS_CODES[status], status, code });
  expect(typeof body.detail).toBe('string');
  expect(res.headers['x-request-id']).toEqual(expect.any(String));
  expect(body.requestId).toBe(res.headers['x-request-id']);
  expect(res.headers['x-powered-by']).toBeUndefined();
  return body;
}


/** The first log line matching `match`, waiting (bounded) for the request's line to be written. */
async function waitForLog(target: TestGateway, match: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
  await waitFor(() => target.logs.some(match), 2000, 'the log line');
  return target.logs.find(match)!;
}

const hasIpv6Loopback = Object.values(os.networkInterfaces())
  .flat()
  .some((i) => i !== undefined && i.internal && i.family === 'IPv6' && i.address === '::1');

/** What the fixed upstream answers: headers that collide with the gateway's own or are hop-by-hop. */
const FIXED_RESPONSE_HEADERS: http.OutgoingHttpHeaders = {
  'content-type': 'text/plain',
  'x-request-id': 'upstream-chosen-id',
  'vary': 'Accept-Encoding',
  'access-control-allow-origin': '*',
  'access-control-allow-credentials': 'true',
  'access-control-expose-headers': 'X-Upstream-Secret',
  'connection': 'X-Resp-Hop',
  'x-resp-hop': 'for-the-gateway-only',
  'keep-alive': 'timeout=7',
  'set-cookie': ['a=1; Path=/', 'b=2; Path=/'],
  'x-end-to-end': 'kept',
};

/**
 * A second upstream that answers every request 200 "fixed" with FIXED_RESPONSE_HEADERS, plus the Host
 * and URL it received as X-Seen-Host / X-Seen-Url.
 */
async function startFixedUpstream(host = '127.0.0.1'): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { ...FIXED_RESPONSE_HEADERS, 'x-seen-host': req.headers.host, 'x-seen-url': req.url });
      res.end('fixed');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

// ---------------------------------------------------------------------------------------------
// Fixture: one Redis, one upstream, gateways that differ only by environment
// ---------------------------------------------------------------------------------------------

let redis: RedisHandle;
let upstream: Upstream;
let fixedUpstream: { url: string; close(): Promise<void> };
/** MAX_BODY_BYTES = 1 MiB, UPSTREAM_TIMEOUT_MS = 10 s, no CORS. */
let gw: TestGateway;
/** UPSTREAM_TIMEOUT_MS = 300. */
let gwFastTimeout: TestGateway;
/** MAX_BODY_BYTES = 64 MiB. */
let gwBigBody: TestGateway;
const gateways: TestGateway[] = [];
const keys: Record<string, string> = {};
let deadUpstreamPort: number;

/** What the upstream received for this exact request-target, if anything. */
const receivedAt = (url: string): EchoReply[] => upstream.received.filter((r) => r.url === url);

/** A request to `path` with the API key of the tenant named `tenant`. */
function api(target: TestGateway, tenant: string, path: string, opts: Omit<CallOptions, 'path'> = {}) {
  return call(target, { ...opts, path, headers: { 'X-API-Key': keys[tenant], ...opts.headers } });
}

async function gateway(env: Record<string, string>): Promise<TestGateway> {
  const started = await startGateway({ REDIS_URL: redis.url, ...env });
  gateways.push(started);
  // The Redis store fails fast (no offline queue) until its connection is up: wait for readiness, as a
  // load balancer would, before the first request.
  await waitFor(async () => (await call(started, { path: '/readyz' })).status === 200, 5000, 'gateway ready');
  return started;
}

beforeAll(async () => {
  redis = await startRedis();
  upstream = await startUpstream();
  fixedUpstream = await startFixedUpstream();
  deadUpstreamPort = await freePort();
  gw = await gateway({ MAX_BODY_BYTES: String(MiB), UPSTREAM_TIMEOUT_MS: '10000' });
  gwFastTimeout = await gateway({ UPSTREAM_TIMEOUT_MS: '300' });
  gwBigBody = await gateway({ MAX_BODY_BYTES: String(64 * MiB) });

  const base = `${upstream.url}/base`;
  const tenants: Record<string, Record<string, unknown>> = {
    // Everything allowed, under an upstream path prefix.
    open: { allowedRoutes: [{ path: '/' }] },
    routes: {
      allowedRoutes: [
        { path: '/public' },
        { path: '/v1/users', methods: ['GET', 'POST'] },
        { path: '/v1/users/admin', methods: ['GET'] },
      ],
    },
    // Denies everything: its route_not_allowed detail names the normalized path that was checked.
    denyAll: { allowedRoutes: [{ path: '/nothing-here' }] },
    disabled: { allowedRoutes: [{ path: '/' }], disabled: true },
    smallBody: { allowedRoutes: [{ path: '/' }], maxBodyBytes: 1000 },
    largeBody: { allowedRoutes: [{ path: '/' }], maxBodyBytes: 4 * MiB },
    deadUpstream: { allowedRoutes: [{ path: '/' }], upstreamBaseUrl: `http://127.0.0.1:${deadUpstreamPort}` },
    fixedHeaders: { allowedRoutes: [{ path: '/' }], upstreamBaseUrl: fixedUpstream.url },
    jwt: {
      // No tenant-level auth: the idp alone makes JWT required (secure by default)...
      allowedRoutes: [{ path: '/secure' }, { path: '/open', auth: { jwt: false } }],
      idp: { issuer: 'https://idp.example.com', jwksUri: 'https://127.0.0.1:1/jwks.json' },
    },
    jwtRoute: {
      // ...and a route-level jwt:true overrides a tenant-level jwt:false.
      auth: { jwt: false },
      allowedRoutes: [{ path: '/guarded', auth: { jwt: true } }, { path: '/free' }],
      idp: { issuer: 'https://idp.example.com', jwksUri: 'https://127.0.0.1:1/jwks.json' },
    },
  };
  for (const [name, tenant] of Object.entries(tenants)) {
    keys[name] = await createTenantWithKey(gw, { id: tenantId(name), upstreamBaseUrl: base, ...tenant });
  }
});

afterAll(async () => {
  for (const req of openRequests) req.destroy();
  await Promise.allSettled(gateways.map((g) => g.close()));
  await upstream?.close();
  await fixedUpstream?.close();
  await redis?.stop();
});

// ---------------------------------------------------------------------------------------------
// §5 pipeline and §5.4 errors
// ---------------------------------------------------------------------------------------------

describe('§5 / §5.4 the pipeline and the errors the gateway produces', () => {
  it('proxies an allowed request to upstreamBaseUrl prefix + path and returns the upstream answer', async () => {
    const res = await api(gw, 'open', '/api/hello/world?x=1');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json');
    expect(echo(res)).toMatchObject({ method: 'GET', url: '/base/hello/world?x=1' });
    expect(res.headers['x-request-id']).toEqual(expect.any(String));
  });

  describe('400 bad_path (§5.1), decided before the API key and never proxied', () => {
    const attacks: [string, string][] = [
      ['encoded slash', '/api/public/a%2Fb'],
      ['encoded slash, lower case', '/api/public/..%2fadmin'],
      ['encoded backslash', '/api/public/a%5Cb'],
      ['raw backslash', '/api/public/..\\admin'],
      ['.. above the root', '/api/../admin'],
      ['.. above the root after a segment', '/api/public/../../admin'],
      ['encoded .. above the root', '/api/%2e%2e/admin'],
      ['encoded NUL', '/api/public/a%00b'],
      ['encoded control character', '/api/public/a%0Ab'],
      ['invalid escape', '/api/public/%zz'],
      ['truncated escape', '/api/public/a%4'],
      ['lone percent at the end', '/api/public/a%'],
      ['double encoding', '/api/public/%252e%252e/admin'],
      ['overlong UTF-8 dot', '/api/public/%c0%ae%c0%ae/admin'],
      ['invalid UTF-8', '/api/public/%ff'],
      ['dot segment with parameters', '/api/public/..;/admin'],
    ];

    it.each(attacks)('%s: %s', async (_name, path) => {
      const before = upstream.received.length;
      const withKey = await api(gw, 'open', path);
      expectProblem(withKey, 400, 'bad_path');
      const withoutKey = await call(gw, { path });
      expectProblem(withoutKey, 400, 'bad_path');
      expect(upstream.received.length).toBe(before);
    });
  });

  it.each([
    ['another case', '/API/public/x'],
    ['a longer first segment', '/apis/public/x'],
    ['the absolute form', 'http://gw.example/api/public/x'],
  ])('only /api, /api/… and /api?… reach the data plane: %s (%s) is 404 not_found and never proxied', async (_name, path) => {
    const before = upstream.received.length;
    expectProblem(await api(gw, 'open', path), 404, 'not_found');
    expect(upstream.received.length).toBe(before);
  });

  it('401 missing_api_key without X-API-Key (and with an empty one)', async () => {
    expectProblem(await call(gw, { path: '/api/public/x' }), 401, 'missing_api_key');
    expectProblem(await call(gw, { path: '/api/public/x', headers: { 'X-API-Key': '' } }), 401, 'missing_api_key');
  });

  it('401 invalid_api_key for an unknown key', async () => {
    const res = await call(gw, { path: '/api/public/x', headers: { 'X-API-Key': `sgw_${randomBytes(32).toString('base64url')}` } });
    expectProblem(res, 401, 'invalid_api_key');
  });

  it('echoes a valid client X-Request-Id in the problem body and header', async () => {
    const res = await call(gw, { path: '/api/public/x', headers: { 'X-Request-Id': 'client-req.42_A' } });
    expect(expectProblem(res, 401, 'missing_api_key').requestId).toBe('client-req.42_A');
  });

  it('403 tenant_disabled for a key of a disabled tenant, never proxied', async () => {
    const before = upstream.received.length;
    expectProblem(await api(gw, 'disabled', '/api/anything'), 403, 'tenant_disabled');
    expect(upstream.received.length).toBe(before);
  });

  describe('403 route_not_allowed', () => {
    it.each([
      ['a path no route covers', 'GET', '/api/private/x'],
      ['a prefix that does not end on a segment boundary', 'GET', '/api/v1/users2'],
      ['matching is case-sensitive', 'GET', '/api/Public/x'],
      ['a method the route does not list', 'DELETE', '/api/v1/users/42'],
      ['HEAD is not implied by GET', 'HEAD', '/api/v1/users/admin'],
      ['the longest route decides (POST allowed on /v1/users, not /v1/users/admin)', 'POST', '/api/v1/users/admin/x'],
      ['the root path when "/" is not allowed', 'GET', '/api/'],
    ])('%s: %s %s', async (_name, method, path) => {
      const before = upstream.received.length;
      const res = await api(gw, 'routes', path, { method });
      if (method === 'HEAD') {
        // A HEAD response has no body: the status and content type still say what happened.
        expect(res.status).toBe(403);
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json\b/);
      } else {
        expectProblem(res, 403, 'route_not_allowed');
      }
      expect(upstream.received.length).toBe(before);
    });

    it.each([
      ['GET', '/api/public'],
      ['GET', '/api/public/a/b'],
      ['POST', '/api/v1/users'],
      ['GET', '/api/v1/users/42'],
      ['GET', '/api/v1/users/admin/x'],
    ])('while the allowed %s %s is proxied', async (method, path) => {
      const res = await api(gw, 'routes', path, { method });
      expect(res.status).toBe(200);
      expect(echo(res)).toMatchObject({ method, url: `/base${path.slice(4)}` });
    });
  });

  describe('413 payload_too_large', () => {
    it('by Content-Length over MAX_BODY_BYTES, answered without reading the body', async () => {
      const before = upstream.received.length;
      // Declares 2 MiB and sends nothing: the answer must not wait for the body.
      const res = await call(gw, {
        method: 'POST',
        path: '/api/upload',
        headers: { 'X-API-Key': keys.open, 'Content-Length': String(2 * MiB) },
        body: new Readable({ read() {} }),
      });
      expectProblem(res, 413, 'payload_too_large');
      expect(upstream.received.length).toBe(before);
    });

    it('a body of exactly MAX_BODY_BYTES passes (Content-Length and chunked)', async () => {
      const exact = randomBytes(MiB);
      const byLength = await api(gw, 'open', '/api/upload/exact', { method: 'POST', body: exact });
      expect(byLength.status).toBe(200);
      expect(echo(byLength).bodyBytes).toBe(MiB);
      const { stream, sha256 } = randomStream(MiB);
      const chunked = await api(gw, 'open', '/api/upload/exact-chunked', { method: 'PUT', body: stream });
      expect(chunked.status).toBe(200);
      expect(echo(chunked)).toMatchObject({ bodyBytes: MiB, bodySha256: sha256 });
      expect(echo(chunked).headers['transfer-encoding']).toBe('chunked');
    });

    it('while streaming a chunked body with no Content-Length over MAX_BODY_BYTES', async () => {
      const { stream } = randomStream(3 * MiB);
      const res = await api(gw, 'open', '/api/upload/stream-too-large', { method: 'POST', body: stream });
      expectProblem(res, 413, 'payload_too_large');
      // Whatever reached the upstream before the cut, it never got a complete request.
      await sleep(100);
      expect(receivedAt('/base/upload/stream-too-large')).toEqual([]);
    });

    it('per-tenant maxBodyBytes lower than MAX_BODY_BYTES: by Content-Length and while streaming', async () => {
      expectProblem(
        await api(gw, 'smallBody', '/api/small/by-length', { method: 'POST', body: randomBytes(1001) }),
        413,
        'payload_too_large',
      );
      const ok = await api(gw, 'smallBody', '/api/small/ok', { method: 'POST', body: randomBytes(1000) });
      expect(ok.status).toBe(200);
      expect(echo(ok).bodyBytes).toBe(1000);
      const { stream } = randomStream(64 * 1024, 4096);
      expectProblem(
        await api(gw, 'smallBody', '/api/small/chunked', { method: 'POST', body: stream }),
        413,
        'payload_too_large',
      );
    });

    it('per-tenant maxBodyBytes higher than MAX_BODY_BYTES lets a larger body through', async () => {
      const body = randomBytes(2 * MiB);
      const byLength = await api(gw, 'largeBody', '/api/large/by-length', { method: 'POST', body });
      expect(byLength.status).toBe(200);
      expect(echo(byLength)).toMatchObject({ bodyBytes: body.length, bodySha256: createHash('sha256').update(body).digest('hex') });
      const { stream, sha256 } = randomStream(3 * MiB);
      const chunked = await api(gw, 'largeBody', '/api/large/chunked', { method: 'POST', body: stream });
      expect(chunked.status).toBe(200);
      expect(echo(chunked)).toMatchObject({ bodyBytes: 3 * MiB, bodySha256: sha256 });
      expectProblem(
        await api(gw, 'largeBody', '/api/large/too-large', { method: 'POST', headers: { 'Content-Length': String(4 * MiB + 1) }, body: new Readable({ read() {} }) }),
        413,
        'payload_too_large',
      );
    });
  });

  it('500 tenant_misconfigured for a hand-written tenant that fails validation (and it is logged)', async () => {
    const id = tenantId('handwritten-bad');
    const apiKey = `sgw_${randomBytes(32).toString('base64url')}`;
    const client = redis.client();
    // An unknown field must never be ignored (it could be a typo weakening policy).
    const stored = { id, upstreamBaseUrl: upstream.url, allowedRoutes: [{ path: '/' }], alowedMethods: ['GET'] };
    await client.set(`tenant:${id}`, JSON.stringify(stored));
    await client.set(`tenant:byApiKey:${createHash('sha256').update(apiKey).digest('hex')}`, id);
    const before = upstream.received.length;

    const res = await call(gw, { path: '/api/x', headers: { 'X-API-Key': apiKey } });
    expectProblem(res, 500, 'tenant_misconfigured');
    expect(upstream.received.length).toBe(before);
    expect(gw.logs).toContainEqual(expect.objectContaining({ tenantId: id, msg: 'stored tenant fails validation' }));
    expect(gw.rawLogs()).not.toContain(apiKey);

    // Not JSON at all is the same answer (on another gateway, whose cache has not seen the tenant).
    await client.set(`tenant:${id}`, '{"id": oops');
    expectProblem(await call(gwFastTimeout, { path: '/api/x', headers: { 'X-API-Key': apiKey } }), 500, 'tenant_misconfigured');
  });

  it('503 state_unavailable for a hand-written key mapping of the wrong type; the logged error names no key hash', async () => {
    const apiKey = `sgw_${randomBytes(32).toString('base64url')}`;
    const hash = createHash('sha256').update(apiKey).digest('hex');
    // A hash where a string belongs: Redis answers WRONGTYPE, and ioredis attaches the command's arguments to the error.
    await redis.client().hset(`tenant:byApiKey:${hash}`, 'tenantId', tenantId('wrongtype'));
    const res = await call(gw, { path: '/api/x', headers: { 'X-API-Key': apiKey } });
    expectProblem(res, 503, 'state_unavailable');
    const line = gw.logs.find((l) => l.msg === 'tenant lookup failed' && JSON.stringify(l).includes('WRONGTYPE'));
    expect(line).toBeDefined();
    expect(gw.rawLogs()).not.toContain(hash);
    expect(gw.rawLogs()).not.toContain(apiKey);
  });

  it('a hand-written valid tenant is served (the same layout, so the 500 above is about validation)', async () => {
    const id = tenantId('handwritten-ok');
    const apiKey = `sgw_${randomBytes(32).toString('base64url')}`;
    const client = redis.client();
    await client.set(`tenant:${id}`, JSON.stringify({ id, upstreamBaseUrl: `${upstream.url}/hand`, allowedRoutes: [{ path: '/' }] }));
    await client.set(`tenant:byApiKey:${createHash('sha256').update(apiKey).digest('hex')}`, id);
    const res = await call(gw, { path: '/api/x', headers: { 'X-API-Key': apiKey } });
    expect(res.status).toBe(200);
    expect(echo(res)).toMatchObject({ url: '/hand/x', headers: expect.objectContaining({ 'x-tenant-id': id }) });
  });

  it('502 upstream_unavailable when the upstream refuses the connection', async () => {
    const res = await api(gw, 'deadUpstream', '/api/x');
    expectProblem(res, 502, 'upstream_unavailable');
  });

  it.each([
    ['resets every connection at once', 'reset', (socket: net.Socket) => socket.resetAndDestroy()],
    ['closes the connection after reading the request, without answering', 'mute', (socket: net.Socket) => socket.once('data', () => socket.destroy())],
  ])('502 upstream_unavailable when the upstream %s', async (_name, kind, onConnection) => {
    const broken = net.createServer(onConnection);
    await new Promise<void>((resolve) => broken.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = broken.address() as AddressInfo;
      const id = tenantId(`broken-${kind}-${port}`);
      const apiKey = await createTenantWithKey(gw, { id, upstreamBaseUrl: `http://127.0.0.1:${port}`, allowedRoutes: [{ path: '/' }] });
      const started = Date.now();
      expectProblem(await call(gw, { path: '/api/x', headers: { 'X-API-Key': apiKey } }), 502, 'upstream_unavailable');
      expect(Date.now() - started).toBeLessThan(3000);
    } finally {
      await new Promise((resolve) => broken.close(resolve));
    }
  });

  it('504 upstream_timeout when the upstream does not answer within UPSTREAM_TIMEOUT_MS', async () => {
    const started = Date.now();
    const res = await api(gwFastTimeout, 'open', '/api/timeout/slow/5000');
    expectProblem(res, 504, 'upstream_timeout');
    expect(Date.now() - started).toBeLessThan(3000);
    // The timed-out upstream request is aborted, not left to run.
    await waitFor(() => upstream.aborted.includes('/base/timeout/slow/5000'), 2000, 'upstream saw the abort');
  });

  describe('JWT required (§3 rule) is never proxied without a verified token', () => {
    const token = 'eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJ1c2VyLTEiLCJleHAiOjQxMDI0NDQ4MDB9.c2lnbmF0dXJl';

    it.each([
      ['tenant with an idp and no auth setting', 'jwt', '/api/secure/x'],
      ['route auth.jwt:true over tenant auth.jwt:false', 'jwtRoute', '/api/guarded/x'],
    ])('%s: 401 missing_jwt with WWW-Authenticate: Bearer when no token is sent', async (_name, tenant, path) => {
      const before = upstream.received.length;
      const res = await api(gw, tenant, path);
      expectProblem(res, 401, 'missing_jwt');
      expect(res.headers['www-authenticate']).toMatch(/^Bearer\b/);
      // A non-Bearer Authorization is no token either.
      const basic = await api(gw, tenant, path, { headers: { Authorization: 'Basic dXNlcjpwYXNz' } });
      expectProblem(basic, 401, 'missing_jwt');
      expect(basic.headers['www-authenticate']).toMatch(/^Bearer\b/);
      expect(upstream.received.length).toBe(before);
    });

    it.each([
      ['jwt', '/api/secure/with-token'],
      ['jwtRoute', '/api/guarded/with-token'],
    ])('%s %s: a token that cannot be verified is refused, the upstream receives nothing', async (tenant, path) => {
      const before = upstream.received.length;
      const res = await api(gw, tenant, path, { headers: { Authorization: `Bearer ${token}` } });
      // The tenant's JWKS URI refuses connections and nothing is cached: no key, no pass.
      expectProblem(res, 503, 'jwks_unavailable');
      await sleep(50);
      expect(upstream.received.length).toBe(before);
    });

    it.each([
      ['jwt', '/api/open/x', '/base/open/x'],
      ['jwtRoute', '/api/free/x', '/base/free/x'],
    ])('%s: a route whose effective requirement is false (%s) is proxied without a token', async (tenant, path, url) => {
      const res = await api(gw, tenant, path);
      expect(res.status).toBe(200);
      expect(echo(res).url).toBe(url);
    });
  });

  describe('upstream responses, 5xx included, pass through untouched', () => {
    it.each([500, 502, 503, 504, 404, 401, 429])('upstream %i', async (status) => {
      const res = await api(gw, 'open', `/api/status/${status}`);
      expect(res.status).toBe(status);
      expect(res.headers['content-type']).toBe('application/json');
      expect(res.headers['x-upstream']).toBe('yes');
      expect(res.text).toBe(JSON.stringify({ upstreamStatus: status }));
      expect(res.headers['x-request-id']).toEqual(expect.any(String));
    });
  });
});

// ---------------------------------------------------------------------------------------------
// §5.3 headers
// ---------------------------------------------------------------------------------------------

describe('§5.3 headers', () => {
  const gatewayHost = () => new URL(gw.url).host;

  it('to the upstream: X-Tenant-Id set (a client-sent one replaced), X-Forwarded-*, Host = upstream host:port', async () => {
    const res = await api(gw, 'open', '/api/headers/basic', {
      headers: {
        'X-Tenant-Id': 'someone-else',
        'X-Forwarded-Proto': 'https',
        'X-Forwarded-Host': 'spoofed.example.com',
      },
    });
    expect(res.status).toBe(200);
    const seen = echo(res).headers;
    expect(seen['x-tenant-id']).toBe(tenantId('open'));
    expect(seen['x-forwarded-for']).toBe('127.0.0.1');
    expect(seen['x-forwarded-proto']).toBe('http');
    expect(seen['x-forwarded-host']).toBe(gatewayHost());
    expect(seen.host).toBe(`127.0.0.1:${upstream.port}`);
  });

  (hasIpv6Loopback ? it : it.skip)('Host for an IPv6 upstream is [address]:port', async () => {
    const v6 = await startFixedUpstream('::1');
    try {
      const id = tenantId('ipv6');
      const apiKey = await createTenantWithKey(gw, { id, upstreamBaseUrl: `${v6.url}/v6`, allowedRoutes: [{ path: '/' }] });
      const res = await call(gw, { path: '/api/headers/ipv6', headers: { 'X-API-Key': apiKey } });
      expect(res.status).toBe(200);
      expect(res.headers['x-seen-host']).toBe(new URL(v6.url).host);
      expect(res.headers['x-seen-url']).toBe('/v6/headers/ipv6');
    } finally {
      await v6.close();
    }
  });

  it('X-Forwarded-For is appended to the client-sent one; X-Forwarded-Host is the Host the client sent', async () => {
    const res = await api(gw, 'open', '/api/headers/xff', {
      headers: { 'X-Forwarded-For': '203.0.113.7, 198.51.100.2', Host: 'api.client.example:8443' },
    });
    expect(res.status).toBe(200);
    const seen = echo(res).headers;
    expect(seen['x-forwarded-for']).toBe('203.0.113.7, 198.51.100.2, 127.0.0.1');
    expect(seen['x-forwarded-host']).toBe('api.client.example:8443');
    expect(seen.host).toBe(`127.0.0.1:${upstream.port}`);
  });

  it('behind a trusted proxy (TRUST_PROXY=loopback), X-Forwarded-Proto/-Host are honoured and the log ip is the client', async () => {
    const trusting = await gateway({ TRUST_PROXY: 'loopback' });
    const res = await call(trusting, {
      path: '/api/headers/trusted',
      headers: {
        'X-API-Key': keys.open,
        'X-Forwarded-For': '203.0.113.9',
        'X-Forwarded-Proto': 'https',
        'X-Forwarded-Host': 'public.example.com',
      },
    });
    expect(res.status).toBe(200);
    const seen = echo(res).headers;
    expect(seen['x-forwarded-proto']).toBe('https');
    expect(seen['x-forwarded-host']).toBe('public.example.com');
    expect(seen['x-forwarded-for']).toBe('203.0.113.9, 127.0.0.1');
    const line = await waitForLog(trusting, (l) => l.category === 'request' && l.path === '/api/headers/trusted');
    expect(line.ip).toBe('203.0.113.9');
  });

  describe('X-Request-Id', () => {
    it.each(['abc', 'Req-1.2_3', 'a'.repeat(128)])('keeps a valid client id (%s) and returns it', async (id) => {
      const res = await api(gw, 'open', '/api/headers/rid-valid', { headers: { 'X-Request-Id': id } });
      expect(res.status).toBe(200);
      expect(echo(res).headers['x-request-id']).toBe(id);
      expect(res.headers['x-request-id']).toBe(id);
    });

    it.each([
      ['with a space and "!"', 'bad id!'],
      ['of 129 characters', 'a'.repeat(129)],
      ['of 200 characters', 'b'.repeat(200)],
      ['with a slash', 'a/b'],
    ])('replaces an invalid client id (%s) with a UUID, the same on both sides', async (_name, id) => {
      const res = await api(gw, 'open', '/api/headers/rid-invalid', { headers: { 'X-Request-Id': id } });
      expect(res.status).toBe(200);
      const sent = echo(res).headers['x-request-id'];
      expect(sent).toMatch(UUID);
      expect(res.headers['x-request-id']).toBe(sent);
    });

    it('generates a UUID when the client sends none, the same on both sides', async () => {
      const res = await api(gw, 'open', '/api/headers/rid-none');
      const sent = echo(res).headers['x-request-id'];
      expect(sent).toMatch(UUID);
      expect(res.headers['x-request-id']).toBe(sent);
    });
  });

  it('removes X-API-Key, X-Admin-Token and client-sent X-Auth-*; Authorization and traceparent pass unchanged', async () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const res = await api(gw, 'open', '/api/headers/removed', {
      headers: {
        'X-Admin-Token': ADMIN_TOKEN,
        'X-Auth-Subject': 'admin',
        'X-Auth-Roles': 'superuser',
        'Authorization': 'Bearer client.token.value',
        'traceparent': traceparent,
        'X-Custom': 'kept',
      },
    });
    expect(res.status).toBe(200);
    const seen = echo(res).headers;
    for (const name of ['x-api-key', 'x-admin-token', 'x-auth-subject', 'x-auth-roles']) {
      expect(seen).not.toHaveProperty(name);
    }
    expect(seen.authorization).toBe('Bearer client.token.value');
    expect(seen.traceparent).toBe(traceparent);
    expect(seen['x-custom']).toBe('kept');
  });

  it('removes hop-by-hop headers: Connection-listed ones, Keep-Alive, TE, Upgrade, Proxy-Authorization, Proxy-Connection', async () => {
    const res = await api(gw, 'open', '/api/headers/hop', {
      headers: {
        'Connection': 'keep-alive, X-Hop-Custom, X-Other-Hop',
        'X-Hop-Custom': 'secret-for-the-next-hop',
        'X-Other-Hop': '1',
        'Keep-Alive': 'timeout=5',
        'TE': 'trailers',
        'Upgrade': 'h2c',
        'Proxy-Authorization': 'Basic cHJveHk6c2VjcmV0',
        'Proxy-Connection': 'keep-alive',
        'X-End-To-End': 'kept',
      },
    });
    expect(res.status).toBe(200);
    const seen = echo(res).headers;
    for (const name of ['x-hop-custom', 'x-other-hop', 'keep-alive', 'te', 'upgrade', 'proxy-authorization', 'proxy-connection']) {
      expect(seen).not.toHaveProperty(name);
    }
    expect(String(seen.connection ?? '')).not.toMatch(/hop/i);
    expect(seen['x-end-to-end']).toBe('kept');
  });

  it('to the client: end-to-end headers pass (Set-Cookie twice too); hop-by-hop ones and Connection itself do not', async () => {
    const res = await api(gw, 'fixedHeaders', '/api/resp/hop', { headers: { Connection: 'keep-alive' } });
    expect(res.status).toBe(200);
    expect(res.text).toBe('fixed');
    expect(res.headers['x-end-to-end']).toBe('kept');
    expect(res.headers['set-cookie']).toEqual(['a=1; Path=/', 'b=2; Path=/']);
    expect(res.headers['x-resp-hop']).toBeUndefined();
    expect(res.headers['keep-alive']).not.toBe('timeout=7');
    // The gateway's own connection management, not the upstream's hop-by-hop option list.
    expect(res.headers.connection).toBe('keep-alive');
  });

  it("to the client: the gateway's X-Request-Id, even when the upstream answers with its own", async () => {
    const res = await api(gw, 'fixedHeaders', '/api/resp/rid', { headers: { 'X-Request-Id': 'client-chosen-id' } });
    expect(res.status).toBe(200);
    expect(res.headers['x-request-id']).toBe('client-chosen-id');
    const generated = await api(gw, 'fixedHeaders', '/api/resp/rid');
    expect(generated.headers['x-request-id']).toMatch(UUID);
    // ...which is the id of the request log line (written when the response closes).
    const logged = () => gw.logs.filter((l) => l.category === 'request' && l.path === '/api/resp/rid').map((l) => l.requestId);
    await waitFor(() => logged().length === 2, 2000, 'two request log lines');
    expect(logged()).toEqual(['client-chosen-id', generated.headers['x-request-id']]);
  });

  it("to the client: a client's Connection: close is honoured whatever the upstream's connection says", async () => {
    const { head, closedByServer } = await rawExchange(
      gw,
      `GET /api/resp/close HTTP/1.1\r\nHost: gw.example\r\nX-API-Key: ${keys.open}\r\nConnection: close\r\n\r\n`,
    );
    expect(head).toMatch(/^HTTP\/1\.1 200 /);
    expect(head).toMatch(/\r\nconnection: close\r\n/i);
    expect(closedByServer).toBe(true);
  });

  it('framing headers named in Connection are not dropped (no body smuggled as a second request)', async () => {
    const body = randomBytes(4096);
    const res = await api(gw, 'open', '/api/headers/framing', {
      method: 'POST',
      headers: { Connection: 'keep-alive, Content-Length, Host' },
      body,
    });
    expect(res.status).toBe(200);
    const seen = echo(res);
    expect(seen.headers['content-length']).toBe(String(body.length));
    expect(seen.bodyBytes).toBe(body.length);
    expect(seen.headers.host).toBe(`127.0.0.1:${upstream.port}`);
    expect(receivedAt('/base/headers/framing')).toHaveLength(1);
  });

  it('to the client: the upstream headers pass through (its own X-Powered-By included); the gateway adds none', async () => {
    // SPEC §5.3: "the upstream's status, headers and body ... no X-Powered-By" is read as: the gateway
    // never advertises itself (Express's X-Powered-By is disabled), while what the upstream chose to
    // send is passed through untouched.
    const proxied = await api(gw, 'open', '/api/headers/powered');
    expect(proxied.status).toBe(200);
    expect(proxied.headers['x-powered-by']).toBe('upstream-framework');
    const fromUpstreamWithout = await api(gw, 'open', '/api/status/200');
    expect(fromUpstreamWithout.headers['x-powered-by']).toBeUndefined();
    const ownResponse = await call(gw, { path: '/api/headers/powered' });
    expectProblem(ownResponse, 401, 'missing_api_key');
    expect(ownResponse.headers['x-powered-by']).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------------
// §5 + §5.1 upstream URL: prefix + normalized path + original query
// ---------------------------------------------------------------------------------------------

describe('§5 / §5.1 the upstream URL is prefix + the normalized path that was authorized + the raw query', () => {
  const paths: [raw: string, normalized: string][] = [
    ['/p/a/./b', '/p/a/b'],
    ['/p/a/b/../c', '/p/a/c'],
    ['/p//a///b', '/p/a/b'],
    ['//p/a', '/p/a'],
    ['/p/a/%2e/b', '/p/a/b'],
    ['/p/x/%2E%2E/a', '/p/a'],
    ['/p/x/.%2e/a', '/p/a'],
    ['/p/%7Euser', '/p/~user'],
    ['/p/%7e', '/p/~'],
    ['/p/%41%62c%2D%5f', '/p/Abc-_'],
    ['/p/a/b/.', '/p/a/b/'],
    ['/p/a/b/..', '/p/a/'],
    ['/p/a/', '/p/a/'],
    ['/p/.../a', '/p/.../a'],
    ['/p/%3a%2c', '/p/%3A%2C'],
    ['/p/caf%c3%a9', '/p/caf%C3%A9'],
    ['/p/a%20b', '/p/a%20b'],
    ['/p/"q"', '/p/%22q%22'],
    // `;` is refused unless the tenant allows path parameters (SPEC §18; upstream-reads.e2e-spec.ts).
    ["/p/it's,v=1", "/p/it's,v=1"],
    ['/p/a%3Fb%23c', '/p/a%3Fb%23c'],
  ];

  it.each(paths)('%s -> %s (authorized and forwarded)', async (raw, normalized) => {
    const res = await api(gw, 'open', `/api${raw}`);
    expect(res.status).toBe(200);
    expect(echo(res).url).toBe(`/base${normalized}`);
    // The route check saw the same normalized path: a tenant that allows nothing names it in the denial.
    const denied = await api(gw, 'denyAll', `/api${raw}`);
    const body = expectProblem(denied, 403, 'route_not_allowed');
    expect(body.detail).toBe(`No allowed route matches GET ${normalized}.`);
  });

  it('a path http-proxy would rewrite ("http:/" after merging slashes) is refused rather than forwarded altered', async () => {
    expectProblem(await api(gw, 'open', '/api/p/http://example.com/x'), 400, 'bad_path');
    expect(upstream.received.some((r) => r.url.includes('example.com'))).toBe(false);
  });

  it('/api and /api/ both forward to the prefix root', async () => {
    expect(echo(await api(gw, 'open', '/api')).url).toBe('/base/');
    expect(echo(await api(gw, 'open', '/api/')).url).toBe('/base/');
    expect(echo(await api(gw, 'open', '/api?q=1')).url).toBe('/base/?q=1');
  });

  it.each([
    '?a=%2F&b=%zz&c=a+b&d="x"&e=\'y\'',
    '?path=../../etc/passwd&enc=%2e%2e%2f&slash=a//b',
    '?u=http://x//y&empty=&&flag',
    '?q=%00%5C%25&plus=++&semi=;&at=@',
    '?',
    '?a=1?b=2',
  ])('the query %s passes byte for byte', async (query) => {
    const res = await api(gw, 'open', `/api/p/./q/${query}`);
    expect(res.status).toBe(200);
    expect(echo(res).url).toBe(`/base/p/q/${query}`);
  });

  it('a traversal out of an allowed prefix is judged on the normalized path', async () => {
    const before = upstream.received.length;
    expectProblem(await api(gw, 'routes', '/api/public/../admin'), 403, 'route_not_allowed');
    expectProblem(await api(gw, 'routes', '/api/public/%2e%2e/admin'), 403, 'route_not_allowed');
    expectProblem(await api(gw, 'routes', '/api/public/x/../../admin/y'), 403, 'route_not_allowed');
    expect(upstream.received.length).toBe(before);
    // ...and into an allowed prefix, the upstream receives the normalized path, not the raw one.
    const into = await api(gw, 'routes', '/api/admin/../public/x');
    expect(into.status).toBe(200);
    expect(echo(into).url).toBe('/base/public/x');
  });
});

// ---------------------------------------------------------------------------------------------
// §5 step 6 streaming, §10 client disconnects
// ---------------------------------------------------------------------------------------------

describe('§5 streaming proxy, §10 client disconnects', () => {
  const size = 20 * MiB;

  it('a 20 MiB chunked upload (no Content-Length) reaches the upstream intact', async () => {
    const { stream, sha256 } = randomStream(size);
    const res = await api(gwBigBody, 'open', '/api/stream/upload', { method: 'POST', body: stream });
    expect(res.status).toBe(200);
    const seen = echo(res);
    expect(seen.headers['content-length']).toBeUndefined();
    expect(seen.headers['transfer-encoding']).toBe('chunked');
    expect(seen.bodyBytes).toBe(size);
    expect(seen.bodySha256).toBe(sha256);
  });

  it('a 20 MiB download reaches the client intact', async () => {
    const res = await api(gw, 'open', `/api/stream/bytes/${size}`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/octet-stream');
    expect(res.body.length).toBe(size);
    expect(createHash('sha256').update(res.body).digest('hex')).toBe(patternSha256(size));
  });

  it('sequential requests reuse one keep-alive connection to the upstream', async () => {
    const ports: (number | undefined)[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await api(gw, 'open', `/api/keepalive/${i}`);
      expect(res.status).toBe(200);
      ports.push(echo(res).remotePort);
    }
    expect(ports[0]).toEqual(expect.any(Number));
    expect(new Set(ports).size).toBe(1);
  });

  it('a client that disconnects mid-request aborts its upstream request', async () => {
    const url = '/base/disconnect/slow/3000';
    const started = Date.now();
    await expect(api(gw, 'open', '/api/disconnect/slow/3000', { abortAfterMs: 200 })).rejects.toThrow();
    // Well before the upstream would have answered by itself (3000 ms).
    await waitFor(() => upstream.aborted.includes(url), 2000, 'the upstream request was aborted');
    expect(Date.now() - started).toBeLessThan(2500);
    expect(receivedAt(url)).toHaveLength(1);
  });
});

// ---------------------------------------------------------------------------------------------
// §7 CORS
// ---------------------------------------------------------------------------------------------

describe('§7 CORS', () => {
  const listed = 'https://app.example.com';
  const other = 'https://admin.example.com';
  const unlisted = 'https://evil.example.net';
  const allowHeaders = ['content-type', 'authorization', 'x-api-key', 'x-admin-token', 'x-request-id'];

  const corsHeaders = (res: RawResponse): string[] =>
    Object.keys(res.headers).filter((name) => name.startsWith('access-control-'));
  const preflight = (target: TestGateway, origin: string) =>
    call(target, {
      method: 'OPTIONS',
      path: '/api/cors/x',
      headers: { Origin: origin, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'x-api-key, content-type' },
    });

  describe('CORS_ORIGINS unset', () => {
    it('adds no Access-Control-* headers and no Vary: Origin ("Always Vary: Origin" applies once CORS is configured)', async () => {
      const proxied = await api(gw, 'open', '/api/cors/unset', { headers: { Origin: listed } });
      expect(proxied.status).toBe(200);
      expect(corsHeaders(proxied)).toEqual([]);
      expect(proxied.headers.vary).toBeUndefined();
      const denied = await call(gw, { path: '/api/cors/unset', headers: { Origin: listed } });
      expectProblem(denied, 401, 'missing_api_key');
      expect(corsHeaders(denied)).toEqual([]);
      expect(denied.headers.vary).toBeUndefined();
    });

    it("the upstream's own Access-Control-* and Vary headers pass through untouched", async () => {
      const res = await api(gw, 'fixedHeaders', '/api/cors/upstream', { headers: { Origin: unlisted } });
      expect(res.status).toBe(200);
      expect(res.headers['access-control-allow-origin']).toBe('*');
      expect(res.headers['access-control-allow-credentials']).toBe('true');
      expect(res.headers['access-control-expose-headers']).toBe('X-Upstream-Secret');
      expect(res.headers.vary).toBe('Accept-Encoding');
    });

    it('a preflight is not special: it goes through the pipeline and needs an API key', async () => {
      const res = await preflight(gw, listed);
      expectProblem(res, 401, 'missing_api_key');
      expect(corsHeaders(res)).toEqual([]);
    });
  });

  describe('CORS_ORIGINS as a list', () => {
    let cors: TestGateway;
    beforeAll(async () => {
      cors = await gateway({ CORS_ORIGINS: `${listed}, ${other}` });
    });

    it.each([listed, other])('reflects the listed origin %s with credentials, on proxied and own responses', async (origin) => {
      const proxied = await api(cors, 'open', '/api/cors/list', { headers: { Origin: origin } });
      expect(proxied.status).toBe(200);
      expect(proxied.headers['access-control-allow-origin']).toBe(origin);
      expect(proxied.headers['access-control-allow-credentials']).toBe('true');
      expect(proxied.headers['access-control-expose-headers']).toMatch(/X-Request-Id/i);
      expect(proxied.headers.vary).toMatch(/\bOrigin\b/);
      // A denial the browser must be able to read carries the same headers.
      const denied = await call(cors, { path: '/api/cors/list', headers: { Origin: origin } });
      expectProblem(denied, 401, 'missing_api_key');
      expect(denied.headers['access-control-allow-origin']).toBe(origin);
      expect(denied.headers['access-control-allow-credentials']).toBe('true');
      expect(denied.headers.vary).toMatch(/\bOrigin\b/);
    });

    it('an unlisted origin gets no Access-Control-Allow-Origin, still Vary: Origin', async () => {
      const res = await api(cors, 'open', '/api/cors/list', { headers: { Origin: unlisted } });
      expect(res.status).toBe(200);
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
      expect(res.headers['access-control-allow-credentials']).toBeUndefined();
      expect(res.headers.vary).toMatch(/\bOrigin\b/);
      // Origins are compared exactly: another scheme or a suffix is another origin.
      for (const near of ['http://app.example.com', 'https://app.example.com.evil.net', 'null']) {
        const nearRes = await api(cors, 'open', '/api/cors/list', { headers: { Origin: near } });
        expect(nearRes.headers['access-control-allow-origin']).toBeUndefined();
      }
    });

    it('without Origin, adds no Access-Control-* headers but Vary: Origin', async () => {
      const res = await api(cors, 'open', '/api/cors/list');
      expect(res.status).toBe(200);
      expect(corsHeaders(res)).toEqual([]);
      expect(res.headers.vary).toMatch(/\bOrigin\b/);
    });

    it('a preflight from a listed origin without an API key answers 204 with the allow headers, never proxied', async () => {
      const before = upstream.received.length;
      const res = await preflight(cors, listed);
      expect(res.status).toBe(204);
      expect(res.body.length).toBe(0);
      expect(res.headers['access-control-allow-origin']).toBe(listed);
      expect(res.headers['access-control-allow-credentials']).toBe('true');
      expect(res.headers['access-control-allow-methods']).toMatch(/\bPOST\b/);
      const allowed = String(res.headers['access-control-allow-headers']).toLowerCase().split(/\s*,\s*/);
      expect(allowed).toEqual(expect.arrayContaining(allowHeaders));
      expect(res.headers.vary).toMatch(/\bOrigin\b/);
      expect(res.headers['x-request-id']).toEqual(expect.any(String));
      expect(upstream.received.length).toBe(before);
    });

    it('a preflight from an unlisted origin gets no allow headers', async () => {
      const res = await preflight(cors, unlisted);
      expect(res.status).toBe(204);
      expect(corsHeaders(res)).toEqual([]);
      expect(res.headers.vary).toMatch(/\bOrigin\b/);
    });

    it("the gateway's policy overrides the upstream's Access-Control-* headers, and its Vary keeps Origin", async () => {
      const fromListed = await api(cors, 'fixedHeaders', '/api/cors/upstream', { headers: { Origin: listed } });
      expect(fromListed.status).toBe(200);
      expect(fromListed.headers['access-control-allow-origin']).toBe(listed);
      expect(fromListed.headers['access-control-allow-credentials']).toBe('true');
      // SPEC §19: what the upstream exposes is added to the gateway's own list, never in its place.
      const exposed = String(fromListed.headers['access-control-expose-headers']).split(/\s*,\s*/);
      expect(exposed).toEqual(expect.arrayContaining(['X-Request-Id', 'RateLimit-Remaining', 'Retry-After', 'X-Upstream-Secret']));
      expect(fromListed.headers.vary).toMatch(/\bAccept-Encoding\b/);
      expect(fromListed.headers.vary).toMatch(/\bOrigin\b/);
      // The upstream's "*" must not open the API to an origin the operator did not list.
      const fromUnlisted = await api(cors, 'fixedHeaders', '/api/cors/upstream', { headers: { Origin: unlisted } });
      expect(fromUnlisted.status).toBe(200);
      expect(corsHeaders(fromUnlisted)).toEqual([]);
      expect(fromUnlisted.headers.vary).toMatch(/\bAccept-Encoding\b/);
      expect(fromUnlisted.headers.vary).toMatch(/\bOrigin\b/);
    });
  });

  describe('CORS_ORIGINS=*', () => {
    let cors: TestGateway;
    beforeAll(async () => {
      cors = await gateway({ CORS_ORIGINS: '*' });
    });

    it('answers Access-Control-Allow-Origin: * without credentials, with Vary: Origin', async () => {
      const res = await api(cors, 'open', '/api/cors/any', { headers: { Origin: unlisted } });
      expect(res.status).toBe(200);
      expect(res.headers['access-control-allow-origin']).toBe('*');
      expect(res.headers['access-control-allow-credentials']).toBeUndefined();
      expect(res.headers.vary).toMatch(/\bOrigin\b/);
    });

    it("never credentials, even when the upstream sends Access-Control-Allow-Credentials", async () => {
      const res = await api(cors, 'fixedHeaders', '/api/cors/upstream', { headers: { Origin: listed } });
      expect(res.status).toBe(200);
      expect(res.headers['access-control-allow-origin']).toBe('*');
      expect(res.headers['access-control-allow-credentials']).toBeUndefined();
      expect(res.headers.vary).toMatch(/\bOrigin\b/);
    });

    it('a preflight without an API key answers 204 with the allow headers and no credentials', async () => {
      const res = await preflight(cors, unlisted);
      expect(res.status).toBe(204);
      expect(res.headers['access-control-allow-origin']).toBe('*');
      expect(res.headers['access-control-allow-credentials']).toBeUndefined();
      const allowed = String(res.headers['access-control-allow-headers']).toLowerCase().split(/\s*,\s*/);
      expect(allowed).toEqual(expect.arrayContaining(allowHeaders));
    });
  });
});
