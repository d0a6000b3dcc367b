import { ServerResponse, type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { badPath, badRequest, type GatewayError } from '../errors/gateway-error';
import { rawProblemResponse, sendProblem } from '../errors/problem';
import { contextOf } from '../observability/request-context';
import { requestIdFrom } from '../observability/request-id';
import { requestRefusal } from '../policy/request-refusal';
import { setUpgradeHead } from './upgrade';

type Middleware = (req: IncomingMessage, res: ServerResponse, next: () => void) => void;
type Listener = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * SPEC §18 at the edge of the server, ahead of Express and the data plane, for every request-target
 * (Express never runs middleware for `CONNECT host:443` or `TRACE *`):
 * - `CONNECT`, `TRACE`, two Host fields, a malformed Host or an HTTP/1.1 request without one are
 *   answered with their problem JSON,
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

  // Node answers an HTTP/1.1 request without Host with a bare 400; it is refused below as problem JSON.
  (server as Server & { requireHostHeader: boolean }).requireHostHeader = false;
  const gated: Listener = (req, res) => {
    if (req.headers.upgrade !== undefined) res.shouldKeepAlive = false;
    const refusal = requestRefusal(req.method ?? '', req.rawHeaders) ?? missingHost(req);
    if (refusal === null) return app(req, res);
    res.shouldKeepAlive = false;
    context(req, res, () => {
      const ctx = contextOf(req);
      ctx.errorCode = refusal.code;
      sendProblem(res, refusal, ctx.requestId);
    });
  };
  server.on('request', gated);
  server.on('clientError', answerClientError);
  // Node has let go of the socket of an upgrade or a CONNECT: its errors are ours to catch. It gets a
  // response object like any request and is closed once answered; a WebSocket to /api/* that passes
  // the pipeline (SPEC §15) is proxied from there instead.
  const onBareSocket = (req: IncomingMessage, socket: Duplex): void => {
    socket.on('error', () => socket.destroy());
    const res = new ServerResponse(req);
    res.assignSocket(socket as Socket);
    res.once('finish', () => socket.end(() => socket.destroy()));
    gated(req, res);
  };
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    setUpgradeHead(req, head);
    onBareSocket(req, socket);
  });
  server.on('connect', onBareSocket);
}

/** RFC 9112 §3.2: an HTTP/1.1 request must carry Host (HTTP/1.0 may leave it out). */
function missingHost(req: IncomingMessage): GatewayError | null {
  if (req.headers.host !== undefined || req.httpVersionMajor !== 1 || req.httpVersionMinor === 0) return null;
  return badRequest('An HTTP/1.1 request must have a Host field (RFC 9112 §3.2).');
}

/** What Node itself answers to the parser errors that are not a malformed request (its own defaults). */
const NODE_ANSWERS: Readonly<Record<string, string>> = {
  HPE_HEADER_OVERFLOW: 'HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n',
  HPE_CHUNK_EXTENSIONS_OVERFLOW: 'HTTP/1.1 413 Payload Too Large\r\nConnection: close\r\n\r\n',
  ERR_HTTP_REQUEST_TIMEOUT: 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n',
};

/**
 * A request Node's parser refuses never reaches a handler: it is answered here as problem JSON, as
 * Node would answer it but for the body. A request-target with a character no URL may have (raw
 * non-ASCII, such as a fullwidth solidus, or a control character) is 400 bad_path (SPEC §5.1, §18);
 * anything else unreadable is 400 bad_request. Nothing is written once a response has started.
 */
function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  const raw = socket as Socket;
  if (err.code === 'ECONNRESET' || !raw.writable || raw.bytesWritten > 0) {
    raw.destroy();
    return;
  }
  const code = err.code ?? '';
  const refusal = code === 'HPE_INVALID_URL' ? badPath('The request-target has a character no URL may have: non-ASCII must be percent-encoded.') : badRequest('The request is not valid HTTP/1.1.');
  raw.end(NODE_ANSWERS[code] ?? rawProblemResponse(refusal, requestIdFrom(undefined)), () => raw.destroy());
}
