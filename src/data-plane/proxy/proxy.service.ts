import type { ClientRequest, IncomingMessage, ServerResponse } from 'node:http';
import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import httpProxy from 'http-proxy';
import type { Counter, Histogram } from 'prom-client';
import { GATEWAY_CONFIG, type GatewayConfig } from '../../config/config.types';
import { GatewayError, payloadTooLarge, upstreamTimeout, upstreamUnavailable } from '../../errors/gateway-error';
import { sendProblem } from '../../errors/problem';
import { exposeUpstreamHeaders } from '../../http/cors.middleware';
import { clientHost, clientProtocol, TRUST_PROXY, type TrustProxy } from '../../http/forwarded';
import { LOGGER, type Logger } from '../../observability/logger';
import { Metrics } from '../../observability/metrics';
import type { Tenant } from '../../tenants/tenant.model';
import { bodyLimitOf } from '../../policy/body-limit';
import { forwardRefusal } from '../../policy/forward-refusal';
import { upstreamPrefix } from '../../policy/upstream-url';
import { isWebSocketUpgrade } from '../../http/upgrade';
import { WebSocketProxy } from '../websocket/websocket-proxy';
import { applyClientHeaderRules, applyUpstreamHeaderRules, stripResponseHopByHop } from './header-rules';
import { UpstreamAgents } from './upstream-agents';
import type { ApiContext } from '../api-context';

interface UpstreamTarget {
  protocol: string;
  host: string;
  port: number;
  /** Headers set on every upstream request: Host = host[:port], an IPv6 address in brackets. */
  headers: { host: string };
  /** The target's http-proxy server, for WebSocket upgrades (`ws()`). */
  proxy: httpProxy;
  /** Path prefix of upstreamBaseUrl, without a trailing '/'. */
  prefix: string;
  origin: string;
  secure: boolean;
  /** This tenant's `gateway_upstream_latency_ms{upstream=origin}` and `gateway_upstream_errors_total` children. */
  latency: Histogram.Internal<'tenantId' | 'upstream'>;
  errors: Counter.Internal;
  /**
   * `web()` of an http-proxy server of this target's own, created with its options: a call then
   * passes none, which http-proxy would otherwise copy into a fresh object on every request.
   */
  web: WebWithCallback;
}

/** One proxied request's state, found from http-proxy's process-wide events. */
interface Exchange {
  target: UpstreamTarget;
  /** performance.now() when the upstream request was made. */
  sentAt: number;
  upstreamReq?: ClientRequest;
  timedOut: boolean;
  failed: boolean;
  /** The upstream's failure is counted (once per request, however many ways it failed). */
  errorCounted: boolean;
  /** The client went away first: what the upstream does afterwards is not its failure. */
  clientGone: boolean;
  res: ServerResponse;
  ctx: ApiContext;
}

/** http-proxy's `web(req, res, callback)` form (its types list only the one with options). */
type WebWithCallback = (req: IncomingMessage, res: ServerResponse, callback: (err: Error) => void) => void;

/** Where a proxied request keeps its Exchange, for http-proxy's process-wide events to find. */
const EXCHANGE = Symbol('exchange');
type ProxiedRequest = IncomingMessage & { [EXCHANGE]?: Exchange };
/** The upstream request and response carry their exchange too, for listeners shared by every request. */
type WithExchange<T> = T & { [EXCHANGE]?: Exchange };

/** 'timeout' of an upstream request: http-proxy then aborts it with a generic socket error. */
function onUpstreamTimeout(this: WithExchange<ClientRequest>): void {
  const exchange = this[EXCHANGE];
  if (exchange !== undefined) exchange.timedOut = true;
}

/**
 * Streams an authorized request to the tenant's upstream with http-proxy: neither body is buffered,
 * the body limit is enforced by Content-Length and while streaming, and every failure becomes the
 * SPEC problem response (502/504/413) or, once the response has started, a cut connection.
 */
@Injectable()
export class ProxyService implements OnApplicationShutdown {
  private readonly agents = new UpstreamAgents();
  private readonly targets = new WeakMap<Tenant, UpstreamTarget>();

  constructor(
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(Metrics) private readonly metrics: Metrics,
    @Inject(TRUST_PROXY) private readonly trust: TrustProxy,
    @Inject(WebSocketProxy) private readonly websockets: WebSocketProxy,
  ) {}

  private readonly onProxyReq = (proxyReq: ClientRequest, req: ProxiedRequest): void => {
    const exchange = req[EXCHANGE];
    if (exchange === undefined) return;
    exchange.upstreamReq = proxyReq;
    exchange.sentAt = performance.now();
    // http-proxy aborts a timed-out request with a generic socket error: remember why.
    (proxyReq as WithExchange<ClientRequest>)[EXCHANGE] = exchange;
    proxyReq.on('timeout', onUpstreamTimeout);
  };

  /**
   * http-proxy pipes the body but ignores an upstream that goes away before its end: the client
   * would wait for the rest forever. Cut its connection too, the only way to tell it mid-response.
   */
  private upstreamClosed(proxyRes: WithExchange<IncomingMessage>): void {
    const exchange = proxyRes[EXCHANGE]!;
    if (proxyRes.complete || exchange.clientGone || exchange.failed) return;
    this.countError(exchange);
    const error = exchange.timedOut ? upstreamTimeout() : upstreamUnavailable();
    this.fail(exchange.res, exchange.ctx, exchange, error, new Error('upstream response cut short'));
  }

  /** 'close' of every upstream response, one function for all: the response is `this`. */
  private readonly onUpstreamClose: (this: IncomingMessage) => void = (() => {
    const closed = (proxyRes: IncomingMessage) => this.upstreamClosed(proxyRes);
    return function (this: IncomingMessage) {
      closed(this);
    };
  })();

  /** A client that goes away aborts its upstream request. */
  private readonly onClientClose = function (this: ServerResponse): void {
    if (this.writableFinished) return;
    const exchange = (this.req as ProxiedRequest)[EXCHANGE];
    if (exchange === undefined) return;
    exchange.clientGone = true;
    exchange.upstreamReq?.destroy();
  };

  private readonly onProxyRes = (proxyRes: IncomingMessage, req: ProxiedRequest, res: ServerResponse): void => {
    const exchange = req[EXCHANGE];
    if (exchange !== undefined) {
      // Time to the upstream's response headers; an upstream 5xx passes through and counts as its error.
      exchange.target.latency.observe(performance.now() - exchange.sentAt);
      if ((proxyRes.statusCode ?? 0) >= 500) this.countError(exchange);
      (proxyRes as WithExchange<IncomingMessage>)[EXCHANGE] = exchange;
      proxyRes.on('close', this.onUpstreamClose);
    }
    stripResponseHopByHop(proxyRes.headers);
    if (this.config.corsOrigins !== null) exposeUpstreamHeaders(res, proxyRes.headers['access-control-expose-headers']);
    // http-proxy would write `Connection: keep-alive`, overriding Node's decision to close this connection
    // (the client asked to, or the gateway is shutting down, SPEC §11).
    if (!res.shouldKeepAlive) proxyRes.headers.connection = 'close';
    applyClientHeaderRules(proxyRes.headers, this.config.corsOrigins !== null);
  };

  /** `ctx` has passed the pipeline: its tenant and normalized path are set. */
  forward(req: ProxiedRequest, res: ServerResponse, ctx: ApiContext): void {
    const tenant = ctx.tenant!;
    const limit = bodyLimitOf(tenant, this.config.maxBodyBytes);
    const declared = req.headers['content-length'];
    const target = this.targetOf(tenant);
    const forwardPath = target.prefix + ctx.path!;
    const refusal = forwardRefusal(limit, declared, forwardPath);
    if (refusal !== null) throw refusal;
    // Asked before the header rules remove Upgrade (hop-by-hop).
    const webSocket = isWebSocketUpgrade(req);

    const clientConnection = applyUpstreamHeaderRules(req.headers, {
      tenantId: tenant.id,
      requestId: ctx.requestId,
      // The peer that connected to us, as nginx's $proxy_add_x_forwarded_for: the chain stays complete.
      clientIp: req.socket.remoteAddress,
      // X-Forwarded-Proto/-Host are honoured only from a TRUST_PROXY peer, as Express does.
      proto: clientProtocol(req, this.trust),
      host: clientHost(req, this.trust),
      authSubject: ctx.authSubject,
      trustedPeer: req.socket.remoteAddress !== undefined && this.trust(req.socket.remoteAddress, 0),
      allowUnderscores: this.config.allowUnderscoreHeaders,
    });
    // toProxy: http-proxy takes req.url as is (no url.parse re-escaping), so the query passes unchanged.
    req.url = forwardPath + (ctx.query ?? '');
    if (webSocket) {
      this.websockets.forward(req, res, ctx, target.proxy, () => target.errors.inc());
      return;
    }

    const exchange: Exchange = { target, sentAt: performance.now(), timedOut: false, failed: false, errorCounted: false, clientGone: false, res, ctx };
    // A property, not a WeakMap: every request's entry in a long-lived WeakMap outlives two young
    // collections and is promoted (profiles: 1.7 MB promoted per scavenge, ten times the pause).
    req[EXCHANGE] = exchange;
    target.web(req, res, (err) => {
      // A transport error (refused, reset, timed out): the upstream failed, whether or not a response had started.
      if (!exchange.failed) this.countError(exchange);
      this.fail(res, ctx, exchange, exchange.timedOut ? upstreamTimeout() : upstreamUnavailable(), err);
    });
    // The upstream's copy of the headers is made; the client's Connection header still governs our side
    // (http-proxy repeats it on the response), unless this connection is to close after the answer.
    if (!res.shouldKeepAlive) req.headers.connection = 'close';
    else if (clientConnection !== undefined) req.headers.connection = clientConnection;

    res.on('close', this.onClientClose);

    // Without Content-Length only a chunked body can come (RFC 9112 §6.3: a request with neither
    // header has none), so a GET costs no counting listener.
    if (declared === undefined && req.headers['transfer-encoding'] !== undefined && limit < Number.MAX_SAFE_INTEGER) {
      let received = 0;
      const onData = (chunk: Buffer) => {
        received += chunk.length;
        if (received <= limit) return;
        req.off('data', onData);
        req.unpipe();
        exchange.upstreamReq?.destroy();
        this.fail(res, ctx, exchange, payloadTooLarge(limit));
      };
      req.on('data', onData);
    }
  }

  onApplicationShutdown(): void {
    this.agents.destroyAll();
  }

  private countError(exchange: Exchange): void {
    if (exchange.errorCounted) return;
    exchange.errorCounted = true;
    exchange.target.errors.inc();
  }

  private fail(res: ServerResponse, ctx: ApiContext, exchange: Exchange, error: GatewayError, cause?: Error): void {
    if (exchange.failed) return;
    exchange.failed = true;
    if (error.status >= 500) {
      this.logger.warn(
        { category: 'request', requestId: ctx.requestId, tenantId: ctx.tenant?.id, code: error.code, cause: cause?.message },
        'upstream request failed',
      );
    }
    if (res.headersSent) {
      // Mid-response there is no way to signal an error but to cut the connection.
      res.destroy();
      return;
    }
    ctx.errorCode = error.code;
    sendProblem(res, error, ctx.requestId);
  }

  private targetOf(tenant: Tenant): UpstreamTarget {
    let target = this.targets.get(tenant);
    if (target === undefined) {
      const url = new URL(tenant.upstreamBaseUrl);
      const secure = url.protocol === 'https:';
      const headers = { host: url.host };
      const built: Omit<UpstreamTarget, 'web' | 'proxy'> = {
        protocol: url.protocol,
        host: url.hostname.replace(/^\[|\]$/g, ''),
        port: url.port ? Number(url.port) : secure ? 443 : 80,
        headers,
        prefix: upstreamPrefix(url),
        origin: url.origin,
        secure,
        latency: this.metrics.upstreamLatency.labels(tenant.id, url.origin),
        errors: this.metrics.upstreamErrors.labels(tenant.id),
      };
      const options: httpProxy.ServerOptions = {
        // http-proxy reads protocol/host/port of the target; the other fields ride along unread.
        target: built,
        agent: this.agents.for(url.origin, secure),
        // Not changeOrigin: http-proxy would send an IPv6 host without brackets or port ("::1").
        changeOrigin: false,
        headers,
        toProxy: true,
        xfwd: false,
        proxyTimeout: this.config.upstreamTimeoutMs,
      };
      const proxy = httpProxy.createProxyServer(options);
      proxy.on('proxyReq', this.onProxyReq);
      proxy.on('proxyRes', this.onProxyRes);
      this.websockets.attach(proxy);
      target = Object.assign(built, { web: proxy.web.bind(proxy) as WebWithCallback, proxy });
      this.targets.set(tenant, target);
    }
    return target;
  }
}
