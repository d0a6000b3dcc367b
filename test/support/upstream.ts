import { createHash } from 'node:crypto';
import http, { type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface EchoReply {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  bodyBytes: number;
  bodySha256: string;
  /** The client port of the connection the request came on: equal ports = a reused connection. */
  remotePort: number | undefined;
}

export interface Upstream {
  url: string;
  port: number;
  /** Requests received, in order (the echo reply of each). */
  received: EchoReply[];
  /** Requests whose client went away before the upstream answered. */
  aborted: string[];
  close(): Promise<void>;
}

/**
 * A real HTTP upstream for proxy tests. Paths:
 *   /status/<code>      answers that status with a small JSON body
 *   /slow/<ms>          answers after <ms> (or never, if the client leaves first: recorded in `aborted`)
 *   /bytes/<n>          streams n bytes of a deterministic pattern (chunked)
 *   /cut/<n>            announces n bytes, sends the first half, then drops the connection
 *   anything else       echoes method, url, headers and the body's length and SHA-256 as JSON
 */
export async function startUpstream(): Promise<Upstream> {
  const received: EchoReply[] = [];
  const aborted: string[] = [];
  const server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    const hash = createHash('sha256');
    let bytes = 0;
    req.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      hash.update(chunk);
    });
    req.on('end', () => {
      const reply: EchoReply = {
        method: req.method ?? '',
        url,
        headers: req.headers,
        bodyBytes: bytes,
        bodySha256: hash.digest('hex'),
        remotePort: req.socket.remotePort,
      };
      received.push(reply);
      const status = /^\/(?:.*\/)?status\/(\d{3})$/.exec(url);
      const slow = /\/slow\/(\d+)$/.exec(url);
      const big = /\/bytes\/(\d+)$/.exec(url);
      const cut = /\/cut\/(\d+)$/.exec(url);
      if (status) {
        res.writeHead(Number(status[1]), { 'content-type': 'application/json', 'x-upstream': 'yes' });
        res.end(JSON.stringify({ upstreamStatus: Number(status[1]) }));
      } else if (slow) {
        const timer = setTimeout(() => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify(reply));
        }, Number(slow[1]));
        res.on('close', () => {
          if (!res.writableFinished) {
            clearTimeout(timer);
            aborted.push(url);
          }
        });
      } else if (cut) {
        const n = Number(cut[1]);
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(n) });
        res.write(CHUNK.subarray(0, Math.floor(n / 2)), () => res.socket?.destroy());
      } else if (big) {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        streamPattern(res, Number(big[1]));
      } else {
        res.writeHead(200, { 'content-type': 'application/json', 'x-powered-by': 'upstream-framework' });
        res.end(JSON.stringify(reply));
      }
    });
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    received,
    aborted,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const CHUNK = Buffer.alloc(64 * 1024, 'abcdefghijklmnopqrstuvwxyz0123456789');

/** Writes n bytes of the repeating pattern with backpressure. */
function streamPattern(res: http.ServerResponse, n: number): void {
  let left = n;
  const pump = () => {
    while (left > 0) {
      const chunk = left >= CHUNK.length ? CHUNK : CHUNK.subarray(0, left);
      left -= chunk.length;
      if (!res.write(chunk)) {
        res.once('drain', pump);
        return;
      }
    }
    res.end();
  };
  pump();
}

/** SHA-256 of n bytes of the pattern that /bytes/<n> streams. */
export function patternSha256(n: number): string {
  const hash = createHash('sha256');
  let left = n;
  while (left > 0) {
    const chunk = left >= CHUNK.length ? CHUNK : CHUNK.subarray(0, left);
    hash.update(chunk);
    left -= chunk.length;
  }
  return hash.digest('hex');
}
