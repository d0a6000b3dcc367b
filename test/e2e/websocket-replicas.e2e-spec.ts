import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { call } from '../support/http-call';
import { ADMIN_TOKEN as TEST_ADMIN_TOKEN, type TestGateway } from '../support/gateway';
import { startReplicas } from './helpers/e2e-http';
import { exitWithin, killAll, requireBuild, startListening, tenantWithKey } from '../support/gateway-process';
import { startRedis, waitFor, type RedisHandle } from '../support/redis-server';
import type { Upstream } from '../support/upstream';

/**
 * SPEC §15 across processes: a key disabled through one replica closes, with 1008 and within a
 * second, the WebSocket open on another replica sharing the Redis; SIGTERM on the built gateway
 * closes open WebSockets with 1001 and the process exits 0. Real redis-server, real `ws` peers.
 */

const RUN = randomBytes(3).toString('hex');
const PROCESS_ADMIN_TOKEN = 'ws-process-admin-token-0123456789abcdef';

let server: Server;
let wss: WebSocketServer;
let upstreamUrl: string;
let redis: RedisHandle;

beforeAll(async () => {
  requireBuild();
  server = createServer((_req, res) => res.end('plain'));
  wss = new WebSocketServer({ server });
  wss.on('connection', (socket) => socket.on('message', (data: Buffer) => socket.send(`echo:${data.toString('utf8')}`)));
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  upstreamUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  redis = await startRedis({ ownServer: true });
});

afterAll(async () => {
  await killAll();
  for (const client of wss.clients) client.terminate();
  await new Promise<void>((done) => wss.close(() => done()));
  server.closeAllConnections();
  await new Promise<void>((done) => server.close(() => done()));
  await redis?.stop();
});

function connect(base: string, key: string): Promise<{ ws: WebSocket; closed: Promise<number> }> {
  const ws = new WebSocket(`${base.replace('http:', 'ws:')}/api/chat`, { headers: { 'X-API-Key': key } });
  const closed = new Promise<number>((done) => ws.once('close', (code) => done(code)));
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, closed }));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`refused ${res.statusCode}`)));
  });
}

describe('two replicas on one Redis', () => {
  let a: TestGateway;
  let b: TestGateway;

  beforeAll(async () => {
    [a, b] = await startReplicas(redis.url, { TENANT_CACHE_TTL_MS: '60000' });
  });

  afterAll(async () => {
    await a?.close();
    await b?.close();
  });

  it('a key disabled through one replica closes its WebSocket on the other with 1008 within 1 s', async () => {
    const tenantId = `wsr-${RUN}`;
    const headers = { 'x-admin-token': TEST_ADMIN_TOKEN };
    const tenant = { id: tenantId, upstreamBaseUrl: upstreamUrl, allowedRoutes: [{ path: '/chat' }] };
    expect((await call(a.url, '/admin/tenants', { method: 'POST', headers, body: tenant })).status).toBe(201);
    const key = await call(a.url, `/admin/tenants/${tenantId}/keys`, { method: 'POST', headers, body: {} });
    const onB = await connect(b.url, key.json!.apiKey as string);

    const started = Date.now();
    const patched = await call(a.url, `/admin/tenants/${tenantId}/keys/${key.json!.keyId as string}`, { method: 'PATCH', headers, body: { disabled: true } });
    expect(patched.status).toBe(200);
    expect(await onB.closed).toBe(1008);
    expect(Date.now() - started).toBeLessThan(1000);

    // Re-enabled, the key opens a new connection again.
    await call(a.url, `/admin/tenants/${tenantId}/keys/${key.json!.keyId as string}`, { method: 'PATCH', headers, body: { disabled: false } });
    await waitFor(
      () => connect(b.url, key.json!.apiKey as string).then((c) => (c.ws.close(), true), () => false),
      5000,
      'the re-enabled key to connect',
    );
  });
});

describe('the built gateway on SIGTERM', () => {
  it('closes open WebSockets with 1001 once HTTP has drained, and exits 0', async () => {
    const child = await startListening({ ADMIN_TOKEN: PROCESS_ADMIN_TOKEN, SHUTDOWN_GRACE_MS: '5000' });
    const upstream = { url: upstreamUrl } as Upstream;
    const key = await tenantWithKey(child.url, PROCESS_ADMIN_TOKEN, 'sigterm', upstream);
    const opened = await connect(child.url, key);
    opened.ws.send('ping');
    child.proc.kill('SIGTERM');
    expect(await opened.closed).toBe(1001);
    const exit = await exitWithin(child, 10_000);
    expect({ code: exit.code, out: exit.code === 0 ? '' : child.stdout().slice(-3000) + child.stderr() }).toEqual({ code: 0, out: '' });
  });
});
