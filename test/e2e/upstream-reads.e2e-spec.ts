import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import net from 'node:net';
import { ADMIN_TOKEN, startGateway, type TestGateway } from '../support/gateway';
import { makeKey, signToken, type SigningKey } from '../support/jwks-server';
import { parseExposition, sumOf } from '../support/prometheus-text';
import { startRedis, waitFor, type RedisHandle } from '../support/redis-server';
import { startUpstream, type EchoReply, type Upstream } from '../support/upstream';
import { isStricter, landingRoute, UPSTREAM_READERS, type ReadRoute } from '../support/upstream-readers';
import { createTenantWithKey, expectProblem, send, waitReady, type Reply } from './helpers/e2e-http';

/*
 * SPEC §18, the differential corpus: for each way an upstream might read a request differently from
 * how the gateway authorized it, named requests sent to the real gateway (real Redis, real upstream),
 * each checked against what the upstream HTTP server received, not only the status. Route /foo is
 * open, /foo/bar needs a JWT, /foo/baz allows GET only.
 */

const RUN = randomBytes(3).toString('hex');
const ROUTES: ReadRoute[] = [
  { path: '/foo', jwt: false },
  { path: '/foo/bar', jwt: true },
  { path: '/foo/baz', jwt: false, methods: ['GET'] },
];

let redis: RedisHandle;
let upstream: Upstream;
let signer: SigningKey;
/** The defaults. */
let gw: TestGateway;
/** ALLOW_UNDERSCORE_HEADERS=true. */
let gwUnderscores: TestGateway;
/** TRUST_PROXY=loopback: the test client is a trusted proxy. */
let gwTrusted: TestGateway;
const keys: Record<'reads' | 'params', string> = { reads: '', params: '' };

beforeAll(async () => {
  redis = await startRedis();
  upstream = await startUpstream();
  signer = await makeKey('ES256');
  gw = await startGateway({ REDIS_URL: redis.url });
  gwUnderscores = await startGateway({ REDIS_URL: redis.url, ALLOW_UNDERSCORE_HEADERS: 'true' });
  gwTrusted = await startGateway({ REDIS_URL: redis.url, TRUST_PROXY: 'loopback' });
  for (const g of [gw, gwUnderscores, gwTrusted]) await waitReady(g);
  const tenant = (id: string, extra: Record<string, unknown>) => ({
    id,
    upstreamBaseUrl: `${upstream.url}/base`,
    idp: { issuer: 'https://idp.test/', jwks: { keys: [signer.jwk] } },
    allowedRoutes: ROUTES.map((r) => ({ path: r.path, auth: { jwt: r.jwt }, ...(r.methods && { methods: r.methods }) })),
    ...extra,
  });
  keys.reads = await createTenantWithKey(gw, tenant(`reads-${RUN}`, {}));
  keys.params = await createTenantWithKey(gw, tenant(`params-${RUN}`, { pathParameters: true }));
});

afterAll(async () => {
  for (const g of [gw, gwUnderscores, gwTrusted]) await g?.close();
  await upstream?.close();
  await redis?.stop();
});

interface Sent {
  reply: Reply;
  /** What the upstream received for this request; null when nothing reached it. */
  received: EchoReply | null;
}

/** One request through `target` with the tenant's key; what the client and the upstream each saw. */
async function through(
  target: TestGateway,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  tenant: keyof typeof keys = 'reads',
): Promise<Sent> {
  const before = upstream.received.length;
  const reply = await send(target.url, method, `/api${path}`, { headers: { 'X-API-Key': keys[tenant], ...headers }, verbatim: true });
  const after = upstream.received.slice(before);
  expect(after.length).toBeLessThanOrEqual(1);
  return { reply, received: after[0] ?? null };
}

/** Every upstream reader reads the forwarded path as the authorized route or a laxer one. */
function expectNoStricterReading(received: EchoReply, authorized: string, method: string, jwt: boolean): void {
  expect(received.url.startsWith('/base/')).toBe(true);
  const path = received.url.slice('/base'.length).split('?')[0];
  const route = { ...ROUTES.find((r) => r.path === authorized)!, jwt };
  for (const reader of UPSTREAM_READERS) {
    const landed = landingRoute(reader, ROUTES, path);
    expect([reader.name, path, landed?.path, isStricter(landed, route, method)]).toEqual([reader.name, path, landed?.path, false]);
  }
}

/** Raw bytes on one TCP connection: what came back, and whether (and how soon) the server closed it. */
function exchange(target: TestGateway, raw: string | Buffer, waitMs = 3000): Promise<{ text: string; closed: boolean; ms: number }> {
  const { hostname, port } = new URL(target.url);
  return new Promise((resolve, reject) => {
    const started = Date.now();
    let text = '';
    const socket = net.connect(Number(port), hostname, () => socket.write(raw));
    const finish = (closed: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ text, closed, ms: Date.now() - started });
    };
    const timer = setTimeout(() => finish(false), waitMs);
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
    socket.on('close', () => finish(true));
    socket.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' ? finish(true) : reject(err)));
  });
}

/** The responses in a raw exchange: status line, headers (lower-cased) and body of each, in order. */
function responsesIn(text: string): { status: number; headers: IncomingHttpHeaders; body: string }[] {
  const out: { status: number; headers: IncomingHttpHeaders; body: string }[] = [];
  let rest = text;
  while (rest.startsWith('HTTP/1.1 ')) {
    const end = rest.indexOf('\r\n\r\n');
    const [statusLine, ...lines] = rest.slice(0, end).split('\r\n');
    const headers: IncomingHttpHeaders = {};
    for (const line of lines) headers[line.slice(0, line.indexOf(':')).toLowerCase()] = line.slice(line.indexOf(':') + 1).trim();
    rest = rest.slice(end + 4);
    let body = '';
    if (headers['transfer-encoding'] === 'chunked') {
      for (let size = parseInt(rest, 16); size > 0; size = parseInt(rest, 16)) {
        const start = rest.indexOf('\r\n') + 2;
        body += rest.slice(start, start + size);
        rest = rest.slice(start + size + 2);
      }
      rest = rest.slice(rest.indexOf('\r\n\r\n') + 4);
    } else {
      const length = Number(headers['content-length'] ?? 0);
      body = rest.slice(0, length);
      rest = rest.slice(length);
    }
    out.push({ status: Number(statusLine.split(' ')[1]), headers, body });
  }
  return out;
}

function expectRawProblem(response: { status: number; headers: IncomingHttpHeaders; body: string }, status: number, code: string): void {
  expect([response.status, response.headers['content-type']]).toEqual([status, 'application/problem+json']);
  expect(JSON.parse(response.body)).toMatchObject({ status, code, requestId: response.headers['x-request-id'] });
}

describe('path parameters (SPEC §18): ";" raw or %3B', () => {
  it.each([
    '/foo/bar;',
    '/foo/bar;/',
    '/foo/bar;jsessionid=x.css',
    '/foo/bar%3B',
    '/foo/bar%3bx',
    '/foo/other;v=1',
    '/foo;x/bar',
  ])('%s is 400 bad_path by default and nothing reaches the upstream', async (path) => {
    const { reply, received } = await through(gw, 'GET', path);
    expectProblem(reply, 400, 'bad_path');
    expect(received).toBeNull();
    // Refused once the tenant is known: the answer carries its rate-limit level.
    expect(reply.headers['ratelimit-limit']).toBe('100');
  });

  it.each(['/foo/bar;', '/foo/bar;jsessionid=x.css', '/foo/bar%3Bx/1'])(
    'with pathParameters, %s is held to the JWT route a servlet container serves it from',
    async (path) => {
      const { reply, received } = await through(gw, 'GET', path, {}, 'params');
      expectProblem(reply, 401, 'missing_jwt');
      expect(received).toBeNull();
    },
  );

  it('with pathParameters and a token, the path reaches the upstream unchanged, parameters and all', async () => {
    const token = await signToken(signer, { iss: 'https://idp.test/', sub: 'user-7' });
    const { reply, received } = await through(gw, 'GET', '/foo/bar;jsessionid=x.css?q=1', { Authorization: `Bearer ${token}` }, 'params');
    expect(reply.status).toBe(200);
    expect(received?.url).toBe('/base/foo/bar;jsessionid=x.css?q=1');
    expect(received?.headers['x-auth-subject']).toBe('user-7');
    expectNoStricterReading(received!, '/foo/bar', 'GET', true);
  });

  it('with pathParameters, an open path keeps its parameters upstream and reads as no stricter route', async () => {
    const { reply, received } = await through(gw, 'GET', '/foo/other;v=1', {}, 'params');
    expect(reply.status).toBe(200);
    expect(received?.url).toBe('/base/foo/other;v=1');
    expectNoStricterReading(received!, '/foo', 'GET', false);
  });

  it('with pathParameters, the GET-only route behind the parameters still refuses DELETE', async () => {
    const { reply, received } = await through(gw, 'DELETE', '/foo/baz;x', {}, 'params');
    expectProblem(reply, 403, 'route_not_allowed');
    expect(received).toBeNull();
  });

  it('with pathParameters, a dot segment once the parameters are gone is 400 bad_path', async () => {
    const { reply, received } = await through(gw, 'GET', '/foo/x/..%3B/bar', {}, 'params');
    expectProblem(reply, 400, 'bad_path');
    expect(received).toBeNull();
  });
});

describe('look-alike characters (SPEC §18)', () => {
  it.each([
    ['fullwidth solidus', '/foo/%ef%bc%8fbar'],
    ['division slash', '/foo/%E2%88%95bar'],
    ['fullwidth full stops', '/foo/x/%EF%BC%8E%EF%BC%8E/bar'],
    ['two dot leader', '/foo/x/%E2%80%A5/bar'],
    ['Greek question mark', '/foo/bar%CD%BEx'],
    ['fullwidth reverse solidus', '/foo/%EF%BC%BCbar'],
    ['fullwidth percent sign', '/foo/%EF%BC%85%32%65'],
  ])('a %s (%s) is 400 bad_path and nothing reaches the upstream', async (_name, path) => {
    const { reply, received } = await through(gw, 'GET', path);
    expectProblem(reply, 400, 'bad_path');
    expect(received).toBeNull();
  });

  it('raw, unencoded, a fullwidth solidus is 400 bad_path too, answered by the server itself', async () => {
    const head = `GET /api/foo/\uff0fbar HTTP/1.1\r\nHost: gateway.test\r\nX-API-Key: ${keys.reads}\r\nConnection: close\r\n\r\n`;
    const before = upstream.received.length;
    const [response] = responsesIn((await exchange(gw, Buffer.from(head, 'utf8'))).text);
    expectRawProblem(response, 400, 'bad_path');
    expect(upstream.received.length).toBe(before);
  });

  it('other non-ASCII passes encoded as it came, and reads as no stricter route', async () => {
    const { reply, received } = await through(gw, 'GET', '/foo/caf%c3%a9');
    expect(reply.status).toBe(200);
    expect(received?.url).toBe('/base/foo/caf%C3%A9');
    expectNoStricterReading(received!, '/foo', 'GET', false);
  });
});

describe('case (SPEC §18)', () => {
  it.each([
    ['GET', '/foo/BAR'],
    ['GET', '/foo/Bar/1'],
    ['GET', '/foo/%EF%BD%82ar'], // fullwidth "ｂ": NFKC reads /foo/bar
    ['DELETE', '/foo/BAZ'],
  ])('%s %s, which a case-insensitive or NFKC upstream serves from a stricter route, is 400 bad_path', async (method, path) => {
    const { reply, received } = await through(gw, method, path);
    expectProblem(reply, 400, 'bad_path');
    expect(received).toBeNull();
  });

  it('a path that matches no route as written stays 403 route_not_allowed', async () => {
    const { reply, received } = await through(gw, 'GET', '/FOO/bar');
    expectProblem(reply, 403, 'route_not_allowed');
    expect(received).toBeNull();
  });

  it('a path whose other readings reach no other route passes, its case unchanged', async () => {
    const { reply, received } = await through(gw, 'GET', '/foo/Other/X');
    expect(reply.status).toBe(200);
    expect(received?.url).toBe('/base/foo/Other/X');
    expectNoStricterReading(received!, '/foo', 'GET', false);
  });
});

describe('underscored header names (SPEC §18)', () => {
  const spoofs = { X_Auth_Subject: 'admin', X_Tenant_Id: 'victim', X_Forwarded_For: '10.0.0.1', Transfer_Encoding: 'chunked', X_Api_Key: 'k' };

  it('none reaches the upstream by default, whatever it reads as', async () => {
    const { reply, received } = await through(gw, 'GET', '/foo', { ...spoofs, My_Header: 'v' });
    expect(reply.status).toBe(200);
    const names = Object.keys(received!.headers);
    expect(names.filter((n) => n.includes('_'))).toEqual([]);
    expect(received!.headers['x-auth-subject']).toBeUndefined();
    expect(received!.headers['x-tenant-id']).toBe(`reads-${RUN}`);
    expect(received!.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(received!.headers['transfer-encoding']).toBeUndefined();
  });

  it('with ALLOW_UNDERSCORE_HEADERS, only those that read as no header the gateway sets or strips reach it', async () => {
    const { reply, received } = await through(gwUnderscores, 'GET', '/foo', { ...spoofs, My_Header: 'v', Connection: 'X-Hop', X_Hop: 'h' });
    expect(reply.status).toBe(200);
    const names = Object.keys(received!.headers);
    expect(names.filter((n) => n.includes('_'))).toEqual(['my_header']);
    expect(received!.headers.my_header).toBe('v');
    expect(received!.headers['x-auth-subject']).toBeUndefined();
  });
});

describe('override and proxy headers (SPEC §18)', () => {
  it('X-HTTP-Method-Override and its kin never reach the upstream: the GET-only route stays a GET', async () => {
    const overrides = {
      'X-HTTP-Method-Override': 'DELETE',
      'X-HTTP-Method': 'DELETE',
      'X-Method-Override': 'DELETE',
      'X-Original-Method': 'DELETE',
      'X-Original-URL': '/foo/bar',
      'X-Rewrite-URL': '/foo/bar',
    };
    for (const target of [gw, gwTrusted]) {
      const { reply, received } = await through(target, 'GET', '/foo/baz', overrides);
      expect(reply.status).toBe(200);
      expect(received?.method).toBe('GET');
      expect(received?.url).toBe('/base/foo/baz');
      for (const name of Object.keys(overrides)) expect(received!.headers).not.toHaveProperty(name.toLowerCase());
    }
  });

  const proxyHeaders = {
    Forwarded: 'for=10.0.0.1;host=evil.example;proto=https',
    'X-Real-IP': '10.0.0.1',
    'True-Client-IP': '10.0.0.1',
    'X-Client-IP': '10.0.0.1',
    'X-Forwarded-Host': 'evil.example',
    'X-Forwarded-Proto': 'https',
    'X-Forwarded-Port': '443',
    'X-Forwarded-Prefix': '/admin',
    'X-Forwarded-For': '10.0.0.1',
  };

  it('from a peer outside TRUST_PROXY, only the appended X-Forwarded-For and the gateway\'s own X-Forwarded-* pass', async () => {
    const { reply, received } = await through(gw, 'GET', '/foo', { ...proxyHeaders, Host: 'gateway.example:8443' });
    expect(reply.status).toBe(200);
    const h = received!.headers;
    for (const name of ['forwarded', 'x-real-ip', 'true-client-ip', 'x-client-ip', 'x-forwarded-port', 'x-forwarded-prefix']) {
      expect(h).not.toHaveProperty(name);
    }
    expect([h['x-forwarded-for'], h['x-forwarded-host'], h['x-forwarded-proto']]).toEqual(['10.0.0.1, 127.0.0.1', 'gateway.example:8443', 'http']);
  });

  it('from a TRUST_PROXY peer, they pass as the proxy sent them', async () => {
    const { reply, received } = await through(gwTrusted, 'GET', '/foo', proxyHeaders);
    expect(reply.status).toBe(200);
    expect(received!.headers).toMatchObject({
      forwarded: proxyHeaders.Forwarded,
      'x-real-ip': '10.0.0.1',
      'true-client-ip': '10.0.0.1',
      'x-client-ip': '10.0.0.1',
      'x-forwarded-port': '443',
      'x-forwarded-prefix': '/admin',
      'x-forwarded-host': 'evil.example',
      'x-forwarded-proto': 'https',
    });
  });
});

describe('Host (SPEC §18)', () => {
  it.each([
    ['a path', 'evil.example/x'],
    ['userinfo', 'a@evil.example'],
    ['a backslash', 'evil.example\\x'],
    ['whitespace', 'evil.example x'],
    ['a bad port', 'gateway.example:99999'],
    ['a port that is no number', 'gateway.example:http'],
  ])('a Host with %s is 400 bad_request and nothing reaches the upstream', async (_what, host) => {
    const { reply, received } = await through(gw, 'GET', '/foo', { Host: host });
    expectProblem(reply, 400, 'bad_request');
    expect(reply.headers.connection).toBe('close');
    expect(received).toBeNull();
  });

  it('two Host fields are 400 bad_request, on the data plane and the control plane, and the connection closes', async () => {
    for (const target of [`/api/foo`, '/admin/health', '/healthz']) {
      const before = upstream.received.length;
      const head = `GET ${target} HTTP/1.1\r\nHost: gateway.test\r\nX-API-Key: ${keys.reads}\r\nX-Admin-Token: ${ADMIN_TOKEN}\r\nHost: evil.example\r\n\r\n`;
      const seen = await exchange(gw, head);
      const [response] = responsesIn(seen.text);
      expectRawProblem(response, 400, 'bad_request');
      expect([target, seen.closed]).toEqual([target, true]);
      expect(upstream.received.length).toBe(before);
    }
  });

  it('an HTTP/1.1 request without Host is 400 bad_request as problem JSON; HTTP/1.0 may leave it out', async () => {
    const [missing] = responsesIn((await exchange(gw, `GET /api/foo HTTP/1.1\r\nX-API-Key: ${keys.reads}\r\n\r\n`)).text);
    expectRawProblem(missing, 400, 'bad_request');
    const old = await exchange(gw, `GET /api/foo HTTP/1.0\r\nX-API-Key: ${keys.reads}\r\n\r\n`);
    expect(old.text.startsWith('HTTP/1.1 200 ')).toBe(true);
  });

  it('a malformed Host is refused on the control plane too', async () => {
    const reply = await send(gw.url, 'GET', '/admin/health', { headers: { Host: 'a@evil.example', 'X-Admin-Token': ADMIN_TOKEN } });
    expectProblem(reply, 400, 'bad_request');
  });

  it('a valid Host reaches the upstream as X-Forwarded-Host, and Host is the upstream\'s', async () => {
    const { reply, received } = await through(gw, 'GET', '/foo', { Host: '[::1]:8443' });
    expect(reply.status).toBe(200);
    expect(received!.headers['x-forwarded-host']).toBe('[::1]:8443');
    expect(received!.headers.host).toBe(new URL(upstream.url).host);
  });
});

describe('methods (SPEC §18)', () => {
  it.each(['CONNECT gateway.test:443', 'CONNECT /api/foo', 'TRACE /api/foo', 'TRACE *', 'TRACE /admin/health'])(
    '%s is 405 method_not_allowed with Allow, as problem JSON, and nothing reaches the upstream',
    async (requestLine) => {
      const before = upstream.received.length;
      const seen = await exchange(gw, `${requestLine} HTTP/1.1\r\nHost: gateway.test:443\r\nX-API-Key: ${keys.reads}\r\n\r\n`);
      const [response] = responsesIn(seen.text);
      expectRawProblem(response, 405, 'method_not_allowed');
      expect(response.headers.allow).toBe('GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS');
      expect(seen.closed).toBe(true);
      expect(upstream.received.length).toBe(before);
    },
  );
});

describe('requests the HTTP parser refuses', () => {
  it.each([
    ['a control character in the target', 'bad_path', 'GET /api/foo\x7f HTTP/1.1\r\nHost: a\r\n\r\n'],
    ['a space in a header name', 'bad_request', 'GET /api/foo HTTP/1.1\r\nHo st: a\r\n\r\n'],
    ['a control character in a header value', 'bad_request', 'GET /api/foo HTTP/1.1\r\nHost: a\r\nX-A: \x01\r\n\r\n'],
    ['an HTTP/2 preface on a new connection', 'bad_request', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'],
  ])('%s is 400 %s as problem JSON, and the connection closes', async (_what, code, raw) => {
    const seen = await exchange(gw, raw);
    const [response] = responsesIn(seen.text);
    expectRawProblem(response, 400, code);
    expect(seen.closed).toBe(true);
  });

  it('headers too large stay 431, as Node answers them', async () => {
    const seen = await exchange(gw, `GET /api/foo HTTP/1.1\r\nHost: a\r\nX-Big: ${'x'.repeat(20_000)}\r\n\r\n`);
    expect(seen.text.startsWith('HTTP/1.1 431 ')).toBe(true);
    expect(seen.closed).toBe(true);
  });
});

describe('no silent hangs (SPEC §18)', () => {
  const preface = 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n';
  const h2c = (path: string, key: string | null) =>
    `GET ${path} HTTP/1.1\r\nHost: gateway.test\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n` +
    (key === null ? '' : `X-API-Key: ${key}\r\n`) +
    '\r\n';

  it.each([
    ['a proxied request', '/api/foo', true, 200],
    ['a refused request', '/api/foo', false, 401],
    ['a control-plane request', '/healthz', false, 200],
  ])('after %s with Upgrade: h2c, an HTTP/2 preface on the same connection finds it closed at once', async (_what, path, withKey, status) => {
    const seen = await exchange(gw, h2c(path, withKey ? keys.reads : null) + preface, 5000);
    const responses = responsesIn(seen.text);
    expect(responses.map((r) => r.status)).toEqual([status]);
    expect(responses[0].headers.connection).toBe('close');
    expect(seen.closed).toBe(true);
    expect(seen.ms).toBeLessThan(2000);
  });

  it('a second request after Upgrade: websocket is not left waiting either', async () => {
    const first = `GET /api/foo HTTP/1.1\r\nHost: gateway.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nX-API-Key: ${keys.reads}\r\n\r\n`;
    const second = `GET /api/foo HTTP/1.1\r\nHost: gateway.test\r\nX-API-Key: ${keys.reads}\r\n\r\n`;
    const seen = await exchange(gw, first + second, 5000);
    expect(responsesIn(seen.text).map((r) => r.status)).toEqual([200]);
    expect(seen.closed).toBe(true);
    expect(seen.ms).toBeLessThan(2000);
  });

  it('keeps ordinary keep-alive connections open', async () => {
    const request = `GET /api/foo HTTP/1.1\r\nHost: gateway.test\r\nX-API-Key: ${keys.reads}\r\n\r\n`;
    const seen = await exchange(gw, request + request, 1000);
    expect(responsesIn(seen.text).map((r) => r.status)).toEqual([200, 200]);
    expect(seen.closed).toBe(false);
  });
});

describe('what operators see (SPEC §8, §18)', () => {
  it('logs each refusal as a policy denial with its code, and counts it in gateway_denials_total', async () => {
    expectProblem((await through(gw, 'GET', '/foo/bar;x')).reply, 400, 'bad_path');
    expectProblem((await through(gw, 'TRACE', '/foo')).reply, 405, 'method_not_allowed');
    expectProblem((await through(gw, 'GET', '/foo', { Host: 'a@b' })).reply, 400, 'bad_request');
    for (const reason of ['bad_path', 'method_not_allowed', 'bad_request']) {
      await waitFor(() => gw.logs.some((l) => l.category === 'policy' && l.decision === 'deny' && l.reason === reason), 2000, `${reason} denial line`);
    }
    const metrics = parseExposition((await send(gw.url, 'GET', '/metrics', { headers: { 'X-Admin-Token': ADMIN_TOKEN } })).text);
    expect(sumOf(metrics, 'gateway_denials_total', { tenantId: `reads-${RUN}`, code: 'bad_path' })).toBeGreaterThan(0);
    expect(sumOf(metrics, 'gateway_denials_total', { tenantId: 'unknown', code: 'method_not_allowed' })).toBeGreaterThan(0);
    expect(sumOf(metrics, 'gateway_denials_total', { tenantId: 'unknown', code: 'bad_request' })).toBeGreaterThan(0);
  });
});
