import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GatewayError } from '../errors/gateway-error';
import { sendProblem } from '../errors/problem';
import { contextOf } from '../observability/request-context';
import { planeOf } from './plane';

/**
 * SPEC §17: with ADMIN_PORT, a second listener serves the control plane (/admin/*, /metrics) and the
 * data-plane port answers those paths 404; /healthz and /readyz answer on both, /api/* on the data
 * port only. Both listeners hand requests to the same application.
 */

type Marked = IncomingMessage & { viaAdminListener?: true };

/** The admin listener's server: the app's own request handler, with its requests marked. */
export function createAdminServer(handle: (req: IncomingMessage, res: ServerResponse) => void): Server {
  return createServer((req, res) => {
    (req as Marked).viaAdminListener = true;
    handle(req, res);
  });
}

/** Answers 404 for a request that reached the listener not serving its plane (after request context, before any gate). */
export function listenerSplitMiddleware() {
  return (req: IncomingMessage & { originalUrl?: string }, res: ServerResponse, next: () => void): void => {
    const plane = planeOf(req.originalUrl ?? req.url ?? '/');
    const admin = (req as Marked).viaAdminListener === true;
    if ((plane === 'control' && !admin) || (plane === 'data' && admin)) {
      const ctx = contextOf(req);
      const error = new GatewayError('not_found', 'No such resource.');
      ctx.errorCode = error.code;
      sendProblem(res, error, ctx.requestId);
      return;
    }
    next();
  };
}

/** Starts the admin listener; resolves with its address. */
export function listenAdminServer(server: Server, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

/** Stops accepting, lets in-flight admin requests finish, then cuts what is left. */
export async function closeAdminServer(server: Server): Promise<void> {
  if (!server.listening) return;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const timer = setTimeout(() => server.closeAllConnections(), 5000);
  await closed;
  clearTimeout(timer);
}
