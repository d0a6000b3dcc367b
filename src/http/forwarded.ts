import type { IncomingMessage } from 'node:http';
import proxyaddr from 'proxy-addr';

/** Whether the address `addr`, `hops` hops from the gateway, is a trusted proxy. */
export type TrustProxy = (addr: string, hops: number) => boolean;

/** DI token of the app's one compiled TRUST_PROXY (CoreModule provides it). */
export const TRUST_PROXY = Symbol('TRUST_PROXY');

/**
 * Express's "trust proxy" setting compiled to its function, with Express's own rules (a hop count,
 * true/false, or addresses, subnets and proxy-addr's names). The app and the data plane share it,
 * so a request reads the same client whichever of them serves it.
 */
export function compileTrustProxy(value: boolean | number | string): TrustProxy {
  if (value === true) return () => true;
  if (value === false) return () => false;
  if (typeof value === 'number') return (_addr, hops) => hops < value;
  return proxyaddr.compile(value.split(',').map((entry) => entry.trim()));
}

/*
 * The three below are Express 5's `req.ip`, `req.protocol` and `req.host`, for a request that
 * Express never saw: the data plane serves Node's own request objects (see data-plane.dispatcher).
 */

/** The client's address: X-Forwarded-For is walked back only through trusted proxies. */
export function clientIp(req: IncomingMessage, trust: TrustProxy): string | undefined {
  if (req.socket.remoteAddress === undefined) return undefined;
  return proxyaddr(req, trust);
}

/** `https` or `http` as the client used it; X-Forwarded-Proto counts only from a trusted peer. */
export function clientProtocol(req: IncomingMessage, trust: TrustProxy): string {
  const own = (req.socket as { encrypted?: boolean }).encrypted === true ? 'https' : 'http';
  if (!trust(req.socket.remoteAddress as string, 0)) return own;
  const header = firstHeader(req.headers['x-forwarded-proto']) || own;
  const comma = header.indexOf(',');
  return comma === -1 ? header.trim() : header.substring(0, comma).trim();
}

/** The host the client asked for: X-Forwarded-Host from a trusted peer, else Host. */
export function clientHost(req: IncomingMessage, trust: TrustProxy): string | undefined {
  let host = firstHeader(req.headers['x-forwarded-host']);
  if (!host || !trust(req.socket.remoteAddress as string, 0)) {
    host = req.headers.host;
  } else if (host.includes(',')) {
    host = host.substring(0, host.indexOf(',')).trimEnd();
  }
  return host || undefined;
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
