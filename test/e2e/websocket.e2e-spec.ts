import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { Lifecycle } from '../../src/lifecycle/lifecycle.service';
import { ADMIN_TOKEN, startGateway, type TestGateway } from '../support/gateway';
import { makeKey, signToken, startJwksServer } from '../support/jwks-server';
import { waitFor } from '../support/redis-server';
import { admin, createTenantWithKey } from './helpers/e2e-http';

/**
 * SPEC §15 end to end with `ws` as the real client and the real upstream: an upgrade runs the
 * pipeline, is proxied with the upstream header rules, is counted, logged and gauged, closes with
 * 1008 when its key or tenant stops admitting it, and a failing upstream ends it cleanly.
 */

const RUN = randomBytes(3).toString('hex');
const id = (name: string): string => `ws-${name}-${RUN}`;

interface Echo {
  url: string;
  /** The upgrade requests the upstream received. */
  upgrades: IncomingMessage[];
  /** Server-side sockets, to drop a connection from the upstream's side. */
  sockets: WebSocket[];
  close(): Promise<void>;
}

/** A WebSocket echo server under /svc, and a plain HTTP answer for anything else. */
async function startEcho(): Promise<Echo> {
  const server: Server = createServer((_req, res) => res.end('plain'));
  const wss = new WebSocketServer({ server });
  const upgrades: IncomingMessage[] = [];
  const sockets: WebSocket[] = [];
  wss.on('connection', (socket, req) => {
    upgrades.push(req);
    sockets.push(socket);
    socket.on('message', (data: Buffer, binary) => socket.send(binary ? data : `echo:${data.toString('utf8')}`, { binary }));
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    upgrades,
    sockets,
    close: async () => {
      for (const socket of sockets) socket.terminate();
      await new Promise<void>((done) => wss.close(() => done()));
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
    },
  };
}

interface Opened {
  ws: WebSocket;
  messages: string[];
  closed: Promise<{ code: number; reason: string }>;
}

function open(gw: TestGateway, path: string, headers: Record<string, string>): Promise<Opened> {
  const ws = new WebSocket(`${gw.url.replace('http:', 'ws:')}/api${path}`, { headers });
  const messages: string[] = [];
  ws.on('message', (data: Buffer) => messages.push(data.toString('utf8')));
  const closed = new Promise<{ code: number; reason: string }>((done) => ws.once('close', (code, reason) => done({ code, reason: String(reason) })));
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, messages, closed }));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      res.on('end', () => reject(Object.assign(new Error(`refused ${res.statusCode}`), { status: res.statusCode, body: JSON.parse(body || '{}') })));
    });
    ws.once('error', reject);
  });
}

async function refusal(gw: TestGateway, path: string, headers: Record<string, string>): Promise<{ status: number; body: Record<string, unknown> }> {
  try {
    const opened = await open(gw, path, headers);
    opened.ws.terminate();
    throw new Error('the upgrade was admitted');
  } catch (err) {
    const e = err as { status?: number; body?: Record<string, unknown> };
    if (e.status === undefined) throw err;
    return { status: e.status, body: e.body ?? {} };
  }
}

async function echoOnce(opened: Opened, text: string): Promise<void> {
  const before = opened.messages.length;
  opened.ws.send(text);
  await waitFor(() => opened.messages.length > before, 5000, `the echo of ${text}`);
  expect(opened.messages.at(-1)).toBe(`echo:${text}`);
}

const gauge = async (gw: TestGateway, tenantId: string): Promise<number> => {
  const text = (await admin(gw, 'GET', '/metrics')).text;
  const line = text.split('\n').find((l) => l.startsWith(`gateway_websocket_connections{tenantId="${tenantId}"}`));
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
};

let echo: Echo;
let gw: TestGateway;

beforeAll(async () => {
  echo = await startEcho();
  gw = await startGateway({});
});
afterAll(async () => {
  await gw?.close();
  await echo?.close();
});

const tenant = (tenantId: string, extra: Record<string, unknown> = {}) => ({
  id: tenantId,
  upstreamBaseUrl: `${echo.url}/svc`,
  allowedRoutes: [{ path: '/chat', methods: ['GET'] }, { path: '/post-only', methods: ['POST'] }],
  rateLimit: { windowSeconds: 3600, maxRequests: 3 },
  ...extra,
});

describe('a WebSocket through the pipeline', () => {
  it('echoes through the gateway, to the mapped upstream URL with the upstream header rules', async () => {
    const key = await createTenantWithKey(gw, tenant(id('echo')));
    const opened = await open(gw, '/chat/room?x=1', { 'X-API-Key': key, 'X-Request-Id': 'ws-req-1', 'X-Auth-Subject': 'forged' });
    await echoOnce(opened, 'hello');
    await echoOnce(opened, 'again');
    const upgrade = echo.upgrades.at(-1)!;
    expect(upgrade.url).toBe('/svc/chat/room?x=1');
    expect(upgrade.headers['x-tenant-id']).toBe(id('echo'));
    expect(upgrade.headers['x-request-id']).toBe('ws-req-1');
    expect(upgrade.headers['x-api-key']).toBeUndefined();
    expect(upgrade.headers['x-auth-subject']).toBeUndefined();
    expect(upgrade.headers['sec-websocket-key']).toEqual(expect.any(String));
    expect(upgrade.headers['sec-websocket-version']).toBe('13');
    expect(upgrade.headers.upgrade).toBe('websocket');
    expect(upgrade.headers.connection).toMatch(/upgrade/i);
    expect(await gauge(gw, id('echo'))).toBe(1);

    opened.ws.close(1000, 'done');
    expect((await opened.closed).code).toBe(1000);
    await waitFor(async () => (await gauge(gw, id('echo'))) === 0, 5000, 'the gauge back to 0');
    await waitFor(() => gw.logs.some((l) => l.category === 'request' && l.requestId === 'ws-req-1'), 5000, 'the request line');
    const line = gw.logs.find((l) => l.category === 'request' && l.requestId === 'ws-req-1')!;
    expect(line).toMatchObject({ status: 101, tenantId: id('echo'), method: 'GET', path: '/api/chat/room' });
    expect(line.durationMs).toEqual(expect.any(Number));
    const metrics = (await admin(gw, 'GET', '/metrics')).text;
    expect(metrics).toContain(`gateway_requests_total{tenantId="${id('echo')}",status="101"} 1`);
  });

  it('answers every denial before the upgrade as problem JSON, and takes one token per connection', async () => {
    const key = await createTenantWithKey(gw, tenant(id('deny')));
    expect(await refusal(gw, '/chat', {})).toMatchObject({ status: 401, body: { code: 'missing_api_key' } });
    expect(await refusal(gw, '/chat', { 'X-API-Key': 'sgw_not-a-key-0123456789' })).toMatchObject({ status: 401, body: { code: 'invalid_api_key' } });
    expect(await refusal(gw, '/elsewhere', { 'X-API-Key': key })).toMatchObject({ status: 403, body: { code: 'route_not_allowed' } });
    // The route allows POST only: an upgrade is a GET.
    expect(await refusal(gw, '/post-only', { 'X-API-Key': key })).toMatchObject({ status: 403, body: { code: 'route_not_allowed' } });
    expect(await refusal(gw, '/chat%2Fx', { 'X-API-Key': key })).toMatchObject({ status: 400, body: { code: 'bad_path' } });
    // Three tokens: the refusals above took none (they stopped before the bucket); three connections take them all.
    const connections = [await open(gw, '/chat', { 'X-API-Key': key }), await open(gw, '/chat', { 'X-API-Key': key }), await open(gw, '/chat', { 'X-API-Key': key })];
    const limited = await refusal(gw, '/chat', { 'X-API-Key': key });
    expect(limited).toMatchObject({ status: 429, body: { code: 'rate_limited' } });
    // Messages on an open connection take no token.
    await echoOnce(connections[0], 'still fine');
    for (const c of connections) c.ws.close();
  });

  it('closes open connections with 1008 when the key is revoked or disabled, or the tenant deleted', async () => {
    const tenantId = id('revoke');
    const created = await admin(gw, 'POST', '/admin/tenants', tenant(tenantId, { rateLimit: { windowSeconds: 1, maxRequests: 100 } }));
    expect(created.status).toBe(201);
    const first = await admin(gw, 'POST', `/admin/tenants/${tenantId}/keys`, {});
    const second = await admin(gw, 'POST', `/admin/tenants/${tenantId}/keys`, {});
    const a = await open(gw, '/chat', { 'X-API-Key': first.json.apiKey as string });
    const b = await open(gw, '/chat', { 'X-API-Key': second.json.apiKey as string });

    const started = Date.now();
    expect((await admin(gw, 'PATCH', `/admin/tenants/${tenantId}/keys/${first.json.keyId as string}`, { disabled: true })).status).toBe(200);
    expect((await a.closed).code).toBe(1008);
    expect(Date.now() - started).toBeLessThan(1000);
    // The other key's connection is untouched.
    await echoOnce(b, 'unaffected');

    expect((await admin(gw, 'DELETE', `/admin/tenants/${tenantId}`)).status).toBe(204);
    expect((await b.closed).code).toBe(1008);
    await waitFor(async () => (await gauge(gw, tenantId)) === 0, 5000, 'the gauge back to 0');
  });

  it('closes with 1008 when the key is revoked, and every connection of a tenant that is disabled', async () => {
    const tenantId = id('revoke2');
    expect((await admin(gw, 'POST', '/admin/tenants', tenant(tenantId, { rateLimit: { windowSeconds: 1, maxRequests: 100 } }))).status).toBe(201);
    const revoked = await admin(gw, 'POST', `/admin/tenants/${tenantId}/keys`, {});
    const kept = await admin(gw, 'POST', `/admin/tenants/${tenantId}/keys`, {});
    const a = await open(gw, '/chat', { 'X-API-Key': revoked.json.apiKey as string });
    const b = await open(gw, '/chat', { 'X-API-Key': kept.json.apiKey as string });
    const c = await open(gw, '/chat', { 'X-API-Key': kept.json.apiKey as string });

    expect((await admin(gw, 'DELETE', `/admin/tenants/${tenantId}/keys/${revoked.json.keyId as string}`)).status).toBe(204);
    expect((await a.closed).code).toBe(1008);
    await echoOnce(b, 'still open');

    const patched = await admin(gw, 'PATCH', `/admin/tenants/${tenantId}`, { disabled: true });
    expect(patched.status).toBe(200);
    expect([(await b.closed).code, (await c.closed).code]).toEqual([1008, 1008]);
  });

  it('closes a connection with 1008 when its key expires', async () => {
    const tenantId = id('expiry');
    expect((await admin(gw, 'POST', '/admin/tenants', tenant(tenantId))).status).toBe(201);
    const key = await admin(gw, 'POST', `/admin/tenants/${tenantId}/keys`, { expiresAt: new Date(Date.now() + 1500).toISOString() });
    const opened = await open(gw, '/chat', { 'X-API-Key': key.json.apiKey as string });
    const closed = await opened.closed;
    expect(closed.code).toBe(1008);
  });

  it('closes a connection with 1008 at an expiry set (PATCH) while it is open', async () => {
    const tenantId = id('expiry-later');
    expect((await admin(gw, 'POST', '/admin/tenants', tenant(tenantId))).status).toBe(201);
    const key = await admin(gw, 'POST', `/admin/tenants/${tenantId}/keys`, {});
    const opened = await open(gw, '/chat', { 'X-API-Key': key.json.apiKey as string });
    const expiresAt = Date.now() + 1500;
    const patched = await admin(gw, 'PATCH', `/admin/tenants/${tenantId}/keys/${key.json.keyId as string}`, { expiresAt: new Date(expiresAt).toISOString() });
    expect(patched.status).toBe(200);
    // Still open until then: the key admits it.
    await echoOnce(opened, 'before the expiry');
    const closed = await opened.closed;
    expect(closed.code).toBe(1008);
    expect(Date.now()).toBeGreaterThanOrEqual(expiresAt - 50);
  });

  it('an upstream that refuses the connection is a 502; one that drops it mid-stream closes the client cleanly', async () => {
    const refusing = createServer();
    await new Promise<void>((done) => refusing.listen(0, '127.0.0.1', done));
    const port = (refusing.address() as AddressInfo).port;
    await new Promise<void>((done) => refusing.close(() => done()));
    const downKey = await createTenantWithKey(gw, { ...tenant(id('down')), upstreamBaseUrl: `http://127.0.0.1:${port}` });
    expect(await refusal(gw, '/chat', { 'X-API-Key': downKey })).toMatchObject({ status: 502, body: { code: 'upstream_unavailable' } });

    const key = await createTenantWithKey(gw, tenant(id('drop')));
    const opened = await open(gw, '/chat', { 'X-API-Key': key });
    await echoOnce(opened, 'before the drop');
    // The upstream's TCP connection goes away without a close frame.
    (echo.sockets.at(-1) as unknown as { _socket: Socket })._socket.destroy();
    const closed = await opened.closed;
    expect(closed.code).toBe(1014);
    expect(gw.logs.some((l) => l.level === 'error' || l.level === 'fatal')).toBe(false);
  });

  it('on a JWT route: no token or a bad one is refused before the upgrade; a valid one is admitted and its subject forwarded', async () => {
    const key = await makeKey('RS256');
    const idp = await startJwksServer([key]);
    try {
      const issuer = 'https://idp.ws.test/';
      const apiKey = await createTenantWithKey(
        gw,
        tenant(id('jwt'), { idp: { issuer, jwksUri: idp.jwksUri, audience: 'ws-api' }, allowedRoutes: [{ path: '/chat', methods: ['GET'], auth: { jwt: true } }] }),
      );
      expect(await refusal(gw, '/chat', { 'X-API-Key': apiKey })).toMatchObject({ status: 401, body: { code: 'missing_jwt' } });
      const wrongAudience = await signToken(key, { iss: issuer, aud: 'other', sub: 'u1' });
      expect(await refusal(gw, '/chat', { 'X-API-Key': apiKey, Authorization: `Bearer ${wrongAudience}` })).toMatchObject({ status: 401, body: { code: 'invalid_jwt' } });
      const token = await signToken(key, { iss: issuer, aud: 'ws-api', sub: 'user-42' });
      const opened = await open(gw, '/chat', { 'X-API-Key': apiKey, Authorization: `Bearer ${token}` });
      await echoOnce(opened, 'with a token');
      const upgrade = echo.upgrades.at(-1)!;
      expect(upgrade.headers['x-auth-subject']).toBe('user-42');
      opened.ws.close();
      await opened.closed;
    } finally {
      await idp.close();
    }
  });

  it('1,000 short-lived connections leave no socket, upgraded connection, gauge or listener behind', async () => {
    const tenantId = id('churn');
    const key = await createTenantWithKey(gw, tenant(tenantId, { rateLimit: { windowSeconds: 1, maxRequests: 1_000_000 } }));
    const server = gw.app.getHttpServer();
    const connections = (): Promise<number> => new Promise((done, fail) => server.getConnections((err, n) => (err ? fail(err) : done(n))));
    const lifecycle = gw.app.get(Lifecycle);
    // One connection first, so the tenant's proxy exists before the listeners are counted.
    const first = await open(gw, '/chat', { 'X-API-Key': key });
    first.ws.close();
    await first.closed;
    const before = { sockets: await connections(), listeners: server.listenerCount('upgrade') + server.listenerCount('request') };
    for (let batch = 0; batch < 20; batch++) {
      const opened = await Promise.all(Array.from({ length: 50 }, () => open(gw, '/chat', { 'X-API-Key': key })));
      // Half closed with the closing handshake, half dropped by the client without one.
      opened.forEach((o, i) => (i % 2 === 0 ? o.ws.close() : o.ws.terminate()));
      await Promise.all(opened.map((o) => o.closed));
    }
    let state = {};
    await waitFor(
      async () => {
        state = { sockets: await connections(), upgraded: lifecycle.upgradedConnections, gauge: await gauge(gw, tenantId) };
        return (await connections()) <= before.sockets && lifecycle.upgradedConnections === 0;
      },
      10_000,
      'every socket closed',
    ).catch((err: Error) => {
      throw new Error(`${err.message}: ${JSON.stringify({ before, state })}`);
    });
    expect(await gauge(gw, tenantId)).toBe(0);
    expect(lifecycle.inFlight).toBe(0);
    expect(server.listenerCount('upgrade') + server.listenerCount('request')).toBe(before.listeners);
    const counted = (await admin(gw, 'GET', '/metrics')).text;
    expect(counted).toContain(`gateway_requests_total{tenantId="${tenantId}",status="101"} 1001`);
  });

  it('refuses an upgrade outside /api', async () => {
    const ws = new WebSocket(`${gw.url.replace('http:', 'ws:')}/admin/tenants`, { headers: { 'X-Admin-Token': ADMIN_TOKEN } });
    const status = await new Promise<number>((done) => {
      ws.once('unexpected-response', (_req, res) => done(res.statusCode ?? 0));
      ws.once('open', () => done(101));
      ws.once('error', () => done(-1));
    });
    expect(status).not.toBe(101);
    ws.terminate();
  });
});
