import http from 'node:http';
import type { AddressInfo } from 'node:net';
import httpProxy from 'http-proxy';
import { announceReady, exitWithParent } from './child-ipc';

/**
 * The baseline: a bare http.createServer + http-proxy with a keep-alive agent to the upstream, and
 * nothing else (no routing, auth, logs or metrics). The agent has the gateway's own settings, so the
 * difference measured is the gateway's pipeline, not connection handling.
 */
const upstreamPort = Number(process.argv[2]);
const agent = new http.Agent({ keepAlive: true, maxSockets: 1024, maxFreeSockets: 256, scheduling: 'lifo' });
const proxy = httpProxy.createProxyServer({ target: `http://127.0.0.1:${upstreamPort}`, agent });

proxy.on('error', (_err, _req, res) => {
  if (res instanceof http.ServerResponse) {
    if (!res.headersSent) res.writeHead(502, { 'content-length': 0 });
    res.end();
  } else {
    (res as { destroy(): void }).destroy();
  }
});

const server = http.createServer((req, res) => proxy.web(req, res));
// WebSocket: http-proxy's ws(), the engine the gateway uses for upgrades.
server.on('upgrade', (req, socket, head) => proxy.ws(req, socket, head, { agent: false }));
server.keepAliveTimeout = 120_000;

exitWithParent();
server.listen(0, '127.0.0.1', () => announceReady((server.address() as AddressInfo).port));
