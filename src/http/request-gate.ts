import { ServerResponse, type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { sendProblem } from '../errors/problem';
import { contextOf } from '../observability/request-context';
import { requestRefusal } from '../policy/request-refusal';

type Middleware = (req: IncomingMessage, res: ServerResponse, next: () => void) => void;
type Listener = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * SPEC §18 at the edge of the server, ahead of Express and the data plane, for every request-target
 * (Express never runs middleware for `CONNECT host:443` or `TRACE *`):
 * - `CONNECT`, `TRACE`, two Host fields or a malformed Host are answered with their problem JSON,
 *   after `context` (the request-context middleware) so they are logged and counted, and the
 *   connection is closed after the answer.
 * - A request carrying `Upgrade` is answered like any other, and its connection closed after it: the
 *   gateway switches no protocol, and Node's parser ignores what follows a refused upgrade on the same
 *   connection (an HTTP/2 preface after `Upgrade: h2c` would wait for nothing).
 * Node gives `CONNECT` to the 'connect' event with the bare socket and closes it unanswered when no one
 * listens: it is given a response here and goes the same way.
 * Call once, after the app's own request listener is installed (it is wrapped).
 */
export function installRequestGate(server: Server, context: Middleware): void {
  const listeners = server.listeners('request');
  if (listeners.length !== 1) throw new Error(`expected the HTTP server to have one request listener, found ${listeners.length}`);
  const app = listeners[0] as Listener;
  server.removeListener('request', app);

  const gated: Listener = (req, res) => {
    if (req.headers.upgrade !== undefined) res.shouldKeepAlive = false;
    const refusal = requestRefusal(req.method ?? '', req.rawHeaders);
    if (refusal === null) return app(req, res);
    res.shouldKeepAlive = false;
    context(req, res, () => {
      const ctx = contextOf(req);
      ctx.errorCode = refusal.code;
      sendProblem(res, refusal, ctx.requestId);
    });
  };
  server.on('request', gated);
  server.on('connect', (req: IncomingMessage, socket: Duplex) => {
    // Node has let go of this socket: its errors are ours to catch, and it is closed once answered.
    socket.on('error', () => socket.destroy());
    const res = new ServerResponse(req);
    res.assignSocket(socket as Socket);
    res.once('finish', () => socket.end(() => socket.destroy()));
    gated(req, res);
  });
}
