import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * Faults beyond a clean kill, on 127.0.0.1: a TCP proxy that delays every chunk (a slow Redis), and
 * an "upstream" that accepts connections and never answers.
 */

export interface DelayProxy {
  port: number;
  /** Milliseconds each chunk waits, in both directions; 0 passes bytes at once. */
  delayMs: number;
  close(): Promise<void>;
}

export async function startDelayProxy(targetPort: number): Promise<DelayProxy> {
  const sockets = new Set<Socket>();
  const proxy: DelayProxy = { port: 0, delayMs: 0, close: async () => undefined };
  const pipe = (from: Socket, to: Socket) => {
    // Chunks keep their order: each waits for the one before it, then for the delay.
    let chain = Promise.resolve();
    from.on('data', (chunk: Buffer) => {
      const delay = proxy.delayMs;
      chain = chain.then(() => new Promise<void>((resolve) => setTimeout(resolve, delay))).then(() => {
        if (!to.destroyed) to.write(chunk);
      });
    });
    from.on('close', () => void chain.then(() => to.destroy()));
    from.on('error', () => undefined);
  };
  const server: Server = createServer((client) => {
    const upstream = connect({ port: targetPort, host: '127.0.0.1' });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.once('close', () => sockets.delete(s));
    }
    pipe(client, upstream);
    pipe(upstream, client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.port = (server.address() as { port: number }).port;
  proxy.close = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  return proxy;
}

export interface SilentUpstream {
  url: string;
  /** Connections open now. */
  open(): number;
  /** From now on, answer every request 200 (the fault ends). */
  heal(): void;
  close(): Promise<void>;
}

/** Accepts TCP connections and never sends a byte, until heal(). */
export async function startSilentUpstream(): Promise<SilentUpstream> {
  const sockets = new Set<Socket>();
  let healed = false;
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.on('data', () => {
      if (healed) socket.end('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    open: () => sockets.size,
    heal: () => (healed = true),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
