import type { ClientRequest, IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Inject, Injectable, type BeforeApplicationShutdown } from '@nestjs/common';
import type httpProxy from 'http-proxy';
import { upstreamUnavailable } from '../../errors/gateway-error';
import { sendProblem } from '../../errors/problem';
import { upgradeHeadOf } from '../../http/upgrade';
import { Lifecycle } from '../../lifecycle/lifecycle.service';
import { refusalOf } from '../../policy/steps/api-key/api-key.step';
import { LOGGER, type Logger } from '../../observability/logger';
import { Metrics } from '../../observability/metrics';
import type { Invalidation } from '../../store/store.port';
import { TenantResolver, type ServedKey } from '../../tenants/tenant-resolver';
import type { ApiContext } from '../api-context';
import { FrameBoundaries } from './ws-frames';

/** One proxied WebSocket, from the admitted upgrade request to the close of its client socket. */
interface Connection {
  tenantId: string;
  keyHash: string;
  ctx: ApiContext;
  res: ServerResponse;
  socket: Socket;
  upstream?: Socket;
  upstreamReq?: ClientRequest;
  frames?: FrameBoundaries;
  expiryTimer?: NodeJS.Timeout;
  /** Set once the connection is ending: it is destroyed if the client has not closed by then. */
  lingerTimer?: NodeJS.Timeout;
  closing: boolean;
}

const CONNECTION = Symbol('websocket');
type Carrier<T> = T & { [CONNECTION]?: Connection };

/** Policy violation (RFC 6455 §7.4.1): the key or tenant no longer admits the connection. */
const POLICY_VIOLATION = 1008;
/** setTimeout's largest delay; a key expiring later is checked again then. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** How long a closing connection may take to finish the upstream's frame in progress. */
const CLOSE_TIMEOUT_MS = 1000;

/**
 * SPEC §15: a `GET /api/*` upgrade that has passed the pipeline goes to the upstream through
 * http-proxy's `ws()`, with §5.3's header rules except that Upgrade and Connection pass. Each open
 * connection is indexed by tenant; an invalidation of the tenant (a key revoked, disabled or expired,
 * the tenant disabled or deleted, on any replica) re-checks its key and closes it with 1008 when the
 * key no longer admits it. Shutdown closes them with 1001 once HTTP has drained (Lifecycle).
 */
@Injectable()
export class WebSocketProxy implements BeforeApplicationShutdown {
  private readonly byTenant = new Map<string, Set<Connection>>();

  constructor(
    @Inject(Lifecycle) private readonly lifecycle: Lifecycle,
    @Inject(Metrics) private readonly metrics: Metrics,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(TenantResolver) private readonly resolver: TenantResolver,
  ) {
    resolver.onInvalidated((msg) => this.recheck(msg));
  }

  /** The app is closing (after the drain, or without one): what is still open goes with 1001. */
  beforeApplicationShutdown(): void {
    for (const open of this.byTenant.values()) for (const conn of open) this.close(conn, 1001, 'going away');
  }

  /** Listeners for the http-proxy server of a target, once per target. */
  attach(proxy: httpProxy): void {
    proxy.on('proxyReqWs', this.onProxyReqWs);
    proxy.on('open', this.onOpen);
  }

  /** `ctx` has passed the pipeline, `req.headers` the upstream header rules, and `req.url` is the upstream path. */
  forward(req: IncomingMessage, res: ServerResponse, ctx: ApiContext, proxy: httpProxy, countError: () => void): void {
    const socket = res.socket as Socket;
    const conn: Connection = {
      tenantId: ctx.tenant!.id,
      keyHash: ctx.keyHash!,
      ctx,
      res,
      socket,
      closing: false,
    };
    // The header rules dropped them as hop-by-hop; an upgrade needs them, and Sec-WebSocket-* pass as they are.
    req.headers.connection = 'Upgrade';
    req.headers.upgrade = 'websocket';
    (req as Carrier<IncomingMessage>)[CONNECTION] = conn;
    res.once('close', () => this.closed(conn));
    proxy.ws(req, socket, upgradeHeadOf(req) ?? Buffer.alloc(0), { agent: false }, (err: Error) => {
      countError();
      this.failed(conn, err);
    });
  }

  private readonly onProxyReqWs = (proxyReq: ClientRequest, req: Carrier<IncomingMessage>): void => {
    const conn = req[CONNECTION];
    if (conn === undefined) return;
    conn.upstreamReq = proxyReq;
    // The upstream answered without switching (e.g. 403 or 404): http-proxy passes its answer on.
    proxyReq.once('response', (upstreamRes: IncomingMessage) => {
      conn.ctx.upgradeStatus = upstreamRes.statusCode;
      // The connection ends with that answer, whether or not the client closes its side.
      upstreamRes.once('end', () => {
        if (conn.socket.writableFinished) conn.socket.destroy();
        else conn.socket.once('finish', () => conn.socket.destroy());
      });
    });
    proxyReq.once('upgrade', (_upstreamRes: IncomingMessage, upstream: Socket) => {
      (upstream as Carrier<Socket>)[CONNECTION] = conn;
      conn.upstream = upstream;
      this.upgraded(conn);
    });
  };

  /** http-proxy has piped both ways: the upstream's bytes now go through the frame tracker. */
  private readonly onOpen = (upstream: Carrier<Socket>): void => {
    const conn = upstream[CONNECTION];
    if (conn === undefined) return;
    const frames = new FrameBoundaries();
    conn.frames = frames;
    upstream.unpipe(conn.socket);
    upstream.pipe(frames).pipe(conn.socket);
    frames.once('end', () => {
      upstream.destroy();
      this.linger(conn);
    });
    // The server's sockets allow half-open connections: once the client has answered a close and ended
    // its side, nothing is left to wait for.
    conn.socket.once('end', () => {
      if (conn.closing) conn.socket.destroy();
    });
  };

  private upgraded(conn: Connection): void {
    conn.ctx.upgradeStatus = 101;
    this.lifecycle.requestUpgraded(conn.res, (code) => this.close(conn, code, 'going away'));
    this.metrics.websockets.labels(conn.tenantId).inc();
    let open = this.byTenant.get(conn.tenantId);
    if (open === undefined) this.byTenant.set(conn.tenantId, (open = new Set()));
    open.add(conn);
    this.closeAtExpiry(conn, conn.ctx.key?.expiresAtMs ?? null);
  }

  /** Closes the connection with 1008 when its key expires (null: never), replacing any earlier expiry. */
  private closeAtExpiry(conn: Connection, expiresAtMs: number | null): void {
    clearTimeout(conn.expiryTimer);
    conn.expiryTimer = undefined;
    if (expiresAtMs === null) return;
    const delay = expiresAtMs - Date.now();
    conn.expiryTimer = setTimeout(
      () => (delay > MAX_TIMER_MS ? this.closeAtExpiry(conn, expiresAtMs) : this.close(conn, POLICY_VIOLATION, 'key expired')),
      Math.max(0, Math.min(delay, MAX_TIMER_MS)),
    );
    conn.expiryTimer.unref();
  }

  /** Closes the client's connection with a close frame at the next frame boundary, and the upstream's. */
  private close(conn: Connection, code: number, reason: string): void {
    if (conn.closing) return;
    conn.closing = true;
    if (conn.frames === undefined) {
      conn.upstreamReq?.destroy();
      conn.socket.destroy();
      return;
    }
    conn.frames.closeWith(code, reason);
    this.linger(conn);
  }

  /** The connection is ending: the client has CLOSE_TIMEOUT_MS to answer the close and hang up. */
  private linger(conn: Connection): void {
    conn.closing = true;
    if (conn.lingerTimer !== undefined) return;
    conn.lingerTimer = setTimeout(() => {
      conn.upstream?.destroy();
      conn.socket.destroy();
    }, CLOSE_TIMEOUT_MS);
    conn.lingerTimer.unref();
  }

  /** The upstream failed: before the switch, a 502; after it, a close frame (1014) when one can go. */
  private failed(conn: Connection, err: Error): void {
    this.logger.warn({ category: 'request', requestId: conn.ctx.requestId, tenantId: conn.tenantId, cause: err.message }, 'websocket upstream failed');
    if (conn.ctx.upgradeStatus === undefined && !conn.res.headersSent) {
      conn.ctx.errorCode = 'upstream_unavailable';
      sendProblem(conn.res, upstreamUnavailable(), conn.ctx.requestId);
      return;
    }
    const frame = conn.frames?.abortWith(1014, 'upstream failed');
    if (frame) conn.socket.write(frame);
    this.linger(conn);
  }

  private closed(conn: Connection): void {
    clearTimeout(conn.expiryTimer);
    clearTimeout(conn.lingerTimer);
    conn.upstream?.destroy();
    // An upstream that answered without switching keeps its connection otherwise (keep-alive).
    conn.upstreamReq?.destroy();
    const open = this.byTenant.get(conn.tenantId);
    if (open?.delete(conn) !== true) return;
    this.metrics.websockets.labels(conn.tenantId).dec();
    if (open.size === 0) this.byTenant.delete(conn.tenantId);
  }

  /** After an invalidation: each open connection it may concern is checked against the store again. */
  private recheck(msg: Invalidation): void {
    const conns = 'all' in msg ? [...this.byTenant.values()].flatMap((set) => [...set]) : [...(this.byTenant.get(msg.tenantId) ?? [])];
    for (const conn of conns) {
      this.resolver.resolveKeyHash(conn.keyHash).then(
        (served) => {
          // Closed while the store was read: nothing to do.
          if (this.byTenant.get(conn.tenantId)?.has(conn) !== true) return;
          if (!admits(served)) this.close(conn, POLICY_VIOLATION, 'key or tenant no longer admitted');
          // The key may have been given another expiry (PATCH expiresAt): the connection ends at that one.
          else this.closeAtExpiry(conn, served!.key?.expiresAtMs ?? null);
        },
        // The store cannot say: the connection stays until it can (the next change re-checks it).
        () => undefined,
      );
    }
  }
}

/** What the API-key step would say now: a key the resolver no longer serves (revoked, expired) or refuses. */
function admits(served: ServedKey | null): boolean {
  return served !== null && refusalOf(served.tenant, served.key) === null;
}
