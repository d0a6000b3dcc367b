import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { announceReady, exitWithParent } from './child-ipc';
import { writeBytes } from './stream';

/**
 * The upstream every proxy under test forwards to (a child process of its own, keep-alive):
 *   GET /small            100-byte body
 *   GET /large            16 KiB body
 *   PUT|POST /sink        reads and discards the request body, answers {"bytes":n}
 *   GET /stream/<n>       streams n bytes (Content-Length set), respecting backpressure
 *   GET /ws (upgrade)     a WebSocket echo: every message comes back as it was sent
 */
const SMALL = Buffer.alloc(100, 's');
const LARGE = Buffer.alloc(16 * 1024, 'l');

function fixed(res: http.ServerResponse, body: Buffer): void {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
  res.end(body);
}

function sink(req: http.IncomingMessage, res: http.ServerResponse): void {
  let bytes = 0;
  req.on('data', (chunk: Buffer) => (bytes += chunk.length));
  req.on('end', () => {
    const body = JSON.stringify({ bytes });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
}

function stream(res: http.ServerResponse, total: number): void {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': total });
  writeBytes(res, total, () => res.end());
}

const server = http.createServer((req, res) => {
  const url = req.url ?? '/';
  if (req.method === 'GET' && url === '/small') return fixed(res, SMALL);
  if (req.method === 'GET' && url === '/large') return fixed(res, LARGE);
  if ((req.method === 'PUT' || req.method === 'POST') && url === '/sink') return sink(req, res);
  const streamed = /^\/stream\/(\d{1,12})$/.exec(url);
  if (req.method === 'GET' && streamed) return stream(res, Number(streamed[1]));
  req.resume();
  res.writeHead(404, { 'content-length': 0 });
  res.end();
});
const echo = new WebSocketServer({ noServer: true, perMessageDeflate: false });
echo.on('connection', (socket) => socket.on('message', (data: Buffer, binary) => socket.send(data, { binary })));
server.on('upgrade', (req, socket, head) => {
  if (req.url !== '/ws') return socket.destroy();
  echo.handleUpgrade(req, socket, head, (ws) => echo.emit('connection', ws, req));
});

// Longer than any run, so the proxies' pooled connections are never closed under them.
server.keepAliveTimeout = 120_000;

exitWithParent();
server.listen(0, '127.0.0.1', () => announceReady((server.address() as AddressInfo).port));
