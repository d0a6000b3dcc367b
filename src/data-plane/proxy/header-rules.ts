import type { IncomingHttpHeaders } from 'node:http';

/** RFC 9110 §7.6.1 hop-by-hop headers, plus the legacy ones proxies conventionally drop. */
// Expect is answered by this server (100 Continue) and is not repeated upstream.
const HOP_BY_HOP = ['expect', 'connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'te', 'trailer', 'upgrade'];

const FRAMING = new Set(['content-length', 'transfer-encoding', 'host']);

/** Credentials of the gateway itself and identity headers only the gateway may set. */
const GATEWAY_ONLY = ['x-api-key', 'x-admin-token', 'x-tenant-id'];

export interface ForwardedFor {
  tenantId: string;
  requestId: string;
  clientIp: string | undefined;
  proto: string;
  host: string | undefined;
  authSubject?: string;
}

/**
 * SPEC §5.3, applied in place to the incoming headers that http-proxy copies to the upstream.
 * Transfer-Encoding stays: it is how Node knows to frame a streamed body of unknown length.
 * Returns the client's Connection header, which the caller restores once the copy is made.
 */
export function applyUpstreamHeaderRules(headers: IncomingHttpHeaders, fwd: ForwardedFor): string | undefined {
  const connection = headers.connection;
  // Headers named in Connection are hop-by-hop too (RFC 9110 §7.6.1).
  if (typeof connection === 'string') {
    for (const name of connection.split(',')) {
      const key = name.trim().toLowerCase();
      // Message framing is never hop-by-hop: dropping Content-Length would let a body be read upstream
      // as a second, unauthorized request on a shared keep-alive connection (request smuggling).
      if (key !== '' && !FRAMING.has(key)) delete headers[key];
    }
  }
  for (const name of HOP_BY_HOP) delete headers[name];
  for (const name of GATEWAY_ONLY) delete headers[name];
  // for-in, not Object.keys: no array allocated on every request.
  for (const name in headers) {
    if (name.startsWith('x-auth-')) delete headers[name];
  }

  headers['x-tenant-id'] = fwd.tenantId;
  headers['x-request-id'] = fwd.requestId;
  if (fwd.clientIp !== undefined) {
    const prior = headers['x-forwarded-for'];
    // Node joins repeated X-Forwarded-For lines into one string.
    headers['x-forwarded-for'] = typeof prior === 'string' && prior !== '' ? `${prior}, ${fwd.clientIp}` : fwd.clientIp;
  }
  headers['x-forwarded-proto'] = fwd.proto;
  if (fwd.host !== undefined) headers['x-forwarded-host'] = fwd.host;
  if (fwd.authSubject !== undefined) headers['x-auth-subject'] = fwd.authSubject;
  return connection;
}

/**
 * Hop-by-hop headers of the upstream's response that must not reach the client. Connection itself
 * goes too (RFC 9110 §7.6.1): http-proxy then sets the gateway's own, from the client's request.
 */
export function stripResponseHopByHop(headers: IncomingHttpHeaders): void {
  const connection = headers.connection;
  if (typeof connection === 'string') {
    for (const name of connection.split(',')) {
      const key = name.trim().toLowerCase();
      if (key !== '' && key !== 'close' && key !== 'keep-alive' && key !== 'transfer-encoding') delete headers[key];
    }
  }
  delete headers.connection;
  delete headers['keep-alive'];
  delete headers['proxy-connection'];
  delete headers['trailer'];
  delete headers['upgrade'];
}

/** A Vary value that already covers Origin (`*` varies on everything). */
const VARY_COVERS_ORIGIN = /(?:^|,)\s*(?:origin|\*)\s*(?:,|$)/i;

/**
 * SPEC §5.3 and §7 on the upstream's response headers, before http-proxy copies them over the ones
 * the gateway already set: the client keeps the gateway's X-Request-Id (the id in its logs and sent
 * upstream), and when CORS is configured the gateway's policy alone decides: the upstream's
 * Access-Control-* headers are dropped and its Vary keeps Origin. Without CORS they pass through.
 * The RateLimit-* headers are the gateway's (SPEC §5.2): an upstream's own never reach the client.
 */
export function applyClientHeaderRules(headers: IncomingHttpHeaders, corsConfigured: boolean): void {
  delete headers['x-request-id'];
  delete headers['ratelimit-limit'];
  delete headers['ratelimit-remaining'];
  delete headers['ratelimit-reset'];
  if (!corsConfigured) return;
  for (const name in headers) {
    if (name.startsWith('access-control-')) delete headers[name];
  }
  const vary = headers.vary;
  if (vary !== undefined && !VARY_COVERS_ORIGIN.test(vary)) headers.vary = `${vary}, Origin`;
}
