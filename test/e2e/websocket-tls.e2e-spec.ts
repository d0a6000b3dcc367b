import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket, { WebSocketServer } from 'ws';
import { call } from '../support/http-call';
import { killAll, requireBuild, startListening, stop, tenantWithKey, type GatewayProcess } from '../support/gateway-process';

/*
 * An https: upstream, as an operator with a private CA runs one: the built gateway trusts the CA
 * through NODE_EXTRA_CA_CERTS and nothing else. A WebSocket upgrade then goes upstream as wss: (the
 * upstream's scheme) and echoes; a plain request goes over TLS too. A gateway that has not been
 * given the CA refuses the upstream's certificate: the upgrade is answered 502 upstream_unavailable.
 * openssl (the system's) makes the CA and the upstream's certificate for 127.0.0.1.
 */

const ADMIN_TOKEN = 'wss-admin-token-0123456789abcdef';

function makeCertificates(dir: string): { ca: string; key: string; cert: string } {
  const run = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=gateway-test-ca', '-days', '1', '-keyout', 'ca.key', '-out', 'ca.pem']);
  run(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', 'upstream.key', '-out', 'upstream.csr']);
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  run(['x509', '-req', '-in', 'upstream.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '1', '-extfile', 'san.ext', '-out', 'upstream.pem']);
  return { ca: join(dir, 'ca.pem'), key: readFileSync(join(dir, 'upstream.key'), 'utf8'), cert: readFileSync(join(dir, 'upstream.pem'), 'utf8') };
}

interface TlsEcho {
  url: string;
  /** Upgrade requests and plain requests the upstream received, with whether each came over TLS. */
  seen: { url: string; encrypted: boolean; headers: IncomingMessage['headers'] }[];
  close(): Promise<void>;
}

async function startTlsEcho(key: string, cert: string): Promise<TlsEcho> {
  const seen: TlsEcho['seen'] = [];
  const record = (req: IncomingMessage) =>
    seen.push({ url: req.url ?? '', encrypted: (req.socket as TLSSocket).encrypted === true, headers: req.headers });
  const server: Server = createServer({ key, cert }, (req, res) => {
    record(req);
    res.end('plain over tls');
  });
  const wss = new WebSocketServer({ server });
  wss.on('connection', (socket, req) => {
    record(req);
    socket.on('message', (data: Buffer) => socket.send(`echo:${data.toString('utf8')}`));
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: async () => {
      for (const client of wss.clients) client.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
    },
  };
}

/** Opens a WebSocket through the gateway; resolves with the first message it gets back, or the refusal's status. */
function echoThrough(gw: GatewayProcess, key: string, text: string): Promise<{ message?: string; status?: number }> {
  return new Promise((done, fail) => {
    const ws = new WebSocket(`${gw.url.replace('http:', 'ws:')}/api/chat`, { headers: { 'x-api-key': key } });
    const timer = setTimeout(() => {
      ws.terminate();
      fail(new Error('no answer within 10 s'));
    }, 10_000);
    ws.once('open', () => ws.send(text));
    ws.once('message', (data: Buffer) => {
      clearTimeout(timer);
      ws.close();
      done({ message: data.toString('utf8') });
    });
    ws.once('unexpected-response', (_req, res) => {
      clearTimeout(timer);
      res.resume();
      ws.terminate();
      done({ status: res.statusCode });
    });
    ws.once('error', (err) => {
      clearTimeout(timer);
      fail(err);
    });
  });
}

describe('wss: upstreams (an https: upstreamBaseUrl), with the operator CA trusted through NODE_EXTRA_CA_CERTS', () => {
  let dir: string;
  let upstream: TlsEcho;
  let ca: string;
  beforeAll(async () => {
    requireBuild();
    dir = mkdtempSync(join(tmpdir(), 'wss-'));
    const certs = makeCertificates(dir);
    ca = certs.ca;
    upstream = await startTlsEcho(certs.key, certs.cert);
  }, 30_000);
  afterAll(async () => {
    await upstream?.close();
    await killAll();
    rmSync(dir, { recursive: true, force: true });
  });

  it('proxies a WebSocket to the upstream over TLS, and a plain request too', async () => {
    const gw = await startListening({ ADMIN_TOKEN, LOG_LEVEL: 'warn', NODE_EXTRA_CA_CERTS: ca });
    try {
      const key = await tenantWithKey(gw.url, ADMIN_TOKEN, 'secure', upstream);
      expect(await echoThrough(gw, key, 'hello')).toEqual({ message: 'echo:hello' });
      const plain = await call(gw.url, '/api/page', { headers: { 'x-api-key': key } });
      expect([plain.status, plain.text]).toEqual([200, 'plain over tls']);

      const upgrade = upstream.seen.find((s) => s.url === '/secure/chat');
      expect(upgrade).toMatchObject({ encrypted: true, headers: { upgrade: 'websocket', 'x-tenant-id': 'secure' } });
      expect(upgrade?.headers['x-api-key']).toBeUndefined();
      expect(upstream.seen.find((s) => s.url === '/secure/page')).toMatchObject({ encrypted: true });
    } finally {
      await stop(gw);
    }
  }, 40_000);

  it('refuses an upstream certificate it cannot verify: the upgrade is 502, nothing is forwarded', async () => {
    const gw = await startListening({ ADMIN_TOKEN, LOG_LEVEL: 'warn' });
    try {
      const key = await tenantWithKey(gw.url, ADMIN_TOKEN, 'untrusted', upstream);
      const before = upstream.seen.length;
      expect(await echoThrough(gw, key, 'hello')).toEqual({ status: 502 });
      const plain = await call(gw.url, '/api/page', { headers: { 'x-api-key': key } });
      expect([plain.status, plain.json?.code]).toEqual([502, 'upstream_unavailable']);
      expect(upstream.seen.length).toBe(before);
    } finally {
      await stop(gw);
    }
  }, 40_000);
});
