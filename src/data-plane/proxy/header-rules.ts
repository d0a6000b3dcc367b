import type { IncomingHttpHeaders } from 'node:http';

/** RFC 9110 §7.6.1 hop-by-hop headers, plus the legacy ones proxies conventionally drop. */
// Expect is answered by this server (100 Continue) and is not repeated upstream.
const HOP_BY_HOP = ['expect', 'connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'te', 'trailer', 'upgrade'];

const FRAMING = new Set(['content-length', 'transfer-encoding', 'host']);

/** Credentials of the gateway itself and identity headers only the gateway may set. */
const GATEWAY_ONLY = ['x-api-key', 'x-admin-token', 'x-tenant-id'];

/** SPEC §18: headers that name another method or URL than the one authorized; never forwarded. */
const OVERRIDES: ReadonlySet<string> = new Set([
  'x-http-method-override',
  'x-http-method',
  'x-method-override',
  'x-original-url',
  'x-rewrite-url',
  'x-original-method',
]);

/** SPEC §18: client-address headers forwarded only from a TRUST_PROXY peer (so are X-Forwarded-* but -For). */
const FROM_PROXIES: ReadonlySet<string> = new Set(['forwarded', 'x-real-ip', 'true-client-ip', 'x-client-ip']);

/** The headers the gateway sets upstream (SPEC §5.3), Host and the body's framing included. */
const GATEWAY_SET = ['x-tenant-id', 'x-request-id', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-auth-subject'];

/** Every name the gateway sets or strips: with ALLOW_UNDERSCORE_HEADERS, no `_` spelling of one passes. */
const GUARDED: ReadonlySet<string> = new Set([...HOP_BY_HOP, ...FRAMING, ...GATEWAY_ONLY, ...GATEWAY_SET, ...OVERRIDES, ...FROM_PROXIES]);

export interface ForwardedFor {
  tenantId: string;
  requestId: string;
  clientIp: string | undefined;
  proto: string;
  host: string | undefined;
  authSubject?: string;
  /** The peer is a TRUST_PROXY proxy: its client-address headers pass (SPEC §18). */
  trustedPeer: boolean;
  /** ALLOW_UNDERSCORE_HEADERS: names with `_` pass, unless they read as a guarded header (SPEC §18). */
  allowUnderscores: boolean;
}

/**
 * SPEC §5.3 and §18, applied in place to the incoming headers that http-proxy copies to the upstream.
 * Transfer-Encoding stays: it is how Node knows to frame a streamed body of unknown length.
 * Returns the client's Connection header, which the caller restores once the copy is made.
 */
export function applyUpstreamHeaderRules(headers: IncomingHttpHeaders, fwd: ForwardedFor): string | undefined {
  const connection = headers.connection;
  // Headers named in Connection are hop-by-hop too (RFC 9110 §7.6.1).
  let named: Set<string> | undefined;
  if (typeof connection === 'string') {
    for (const name of connection.split(',')) {
      const key = name.trim().toLowerCase();
      // Message framing is never hop-by-hop: dropping Content-Length would let a body be read upstream
      // as a second, unauthorized request on a shared keep-alive connection (request smuggling).
      if (key === '' || FRAMING.has(key)) continue;
      delete headers[key];
      // Remembered (read with `_` as `-`) so that no other spelling of it passes either; the usual
      // `keep-alive` and `close` cost nothing.
      if (key !== 'close' && !GUARDED.has(key)) (named ??= new Set()).add(key.replaceAll('_', '-'));
    }
  }
  for (const name of HOP_BY_HOP) delete headers[name];
  for (const name of GATEWAY_ONLY) delete headers[name];
  // for-in, not Object.keys: no array allocated on every request.
  for (const name in headers) {
    if (name.startsWith('x-auth-') || OVERRIDES.has(name)) delete headers[name];
    else if (!fwd.trustedPeer && isFromProxies(name)) delete headers[name];
    else if (name.includes('_')) {
      if (!fwd.allowUnderscores || !underscoreMayPass(name, named)) delete headers[name];
    } else if (named?.has(name) === true) delete headers[name];
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

function isFromProxies(name: string): boolean {
  return FROM_PROXIES.has(name) || (name.startsWith('x-forwarded-') && name !== 'x-forwarded-for');
}

/**
 * SPEC §18: CGI, PHP and WSGI read `X_Auth_Subject` as `X-Auth-Subject`, so a name with `_` passes
 * only when, read that way, it names no header the gateway sets or strips (`named`: those this
 * request's Connection header named).
 */
function underscoreMayPass(name: string, named: Set<string> | undefined): boolean {
  const dashed = name.replaceAll('_', '-');
  if (GUARDED.has(dashed) || named?.has(dashed) === true) return false;
  return !dashed.startsWith('x-auth-') && !dashed.startsWith('x-forwarded-');
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
