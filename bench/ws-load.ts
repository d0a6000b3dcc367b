import WebSocket from 'ws';

/**
 * WebSocket throughput: `connections` connections to `url`, each sending a 100-byte message and the
 * next one as soon as its echo is back, for `durationS` seconds. Messages per second counts echoes
 * received (a round trip through the proxy and the upstream both ways).
 */
export interface WsResult {
  messagesPerSec: number;
  errors: number;
}

const MESSAGE = Buffer.alloc(100, 'm');

export async function measureWebSocket(url: string, headers: Record<string, string>, connections: number, durationS: number): Promise<WsResult> {
  let received = 0;
  let errors = 0;
  let running = true;
  const sockets = await Promise.all(
    Array.from(
      { length: connections },
      () =>
        new Promise<WebSocket>((resolve, reject) => {
          const ws = new WebSocket(url, { headers, perMessageDeflate: false });
          ws.once('open', () => resolve(ws));
          ws.once('error', reject);
          ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode} from ${url}`)));
        }),
    ),
  );
  const started = performance.now();
  for (const ws of sockets) {
    ws.on('error', () => errors++);
    ws.on('message', () => {
      received++;
      if (running) ws.send(MESSAGE);
    });
    ws.send(MESSAGE);
  }
  await new Promise((resolve) => setTimeout(resolve, durationS * 1000));
  running = false;
  const elapsedS = (performance.now() - started) / 1000;
  const counted = received;
  await Promise.all(
    sockets.map(
      (ws) =>
        new Promise<void>((done) => {
          ws.once('close', () => done());
          ws.close();
          setTimeout(() => (ws.terminate(), done()), 2000).unref();
        }),
    ),
  );
  return { messagesPerSec: counted / elapsedS, errors };
}
