import type { IncomingMessage, ServerResponse } from 'node:http';

/** SPEC §7 and §19: what every browser app may send, whatever CORS_ALLOWED_HEADERS says. */
export const BUILT_IN_ALLOWED_HEADERS: readonly string[] = [
  'Content-Type',
  'Authorization',
  'X-API-Key',
  'X-Admin-Token',
  'X-Request-Id',
  'traceparent',
  'tracestate',
  'Idempotency-Key',
];
const ALLOW_METHODS = 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS';
/** SPEC §19: the gateway's own headers a browser app reads (request id, rate limit, auth challenge). */
export const GATEWAY_EXPOSED_HEADERS: readonly string[] = [
  'X-Request-Id',
  'RateLimit-Limit',
  'RateLimit-Remaining',
  'RateLimit-Reset',
  'Retry-After',
  'WWW-Authenticate',
];
const EXPOSE_HEADER = 'Access-Control-Expose-Headers';
/** RFC 9110 §5.1 field name. */
const FIELD_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

export interface CorsPolicy {
  /** '*' = any origin without credentials; a list = reflect listed origins with credentials. */
  origins: '*' | readonly string[];
  /** Added to the built-in list; '*' = the names each preflight asks for. */
  allowedHeaders: '*' | readonly string[];
  /** Access-Control-Max-Age of a preflight answer, in seconds. */
  maxAgeS: number;
}

/** The field names of a comma list header (repeated lines arrive joined), without case-insensitive repeats. */
function fieldNames(value: string | readonly string[] | undefined): string[] {
  if (value === undefined) return [];
  const names: string[] = [];
  const seen = new Set<string>();
  for (const raw of (typeof value === 'string' ? value : value.join(',')).split(',')) {
    const name = raw.trim();
    const key = name.toLowerCase();
    // Anything not a field name is dropped: it could not be a header, and it is never echoed back.
    if (!FIELD_NAME.test(name) || seen.has(key)) continue;
    seen.add(key);
    names.push(name);
  }
  return names;
}

const joined = (...lists: (readonly string[])[]): string => fieldNames(lists.flat()).join(', ');

/**
 * SPEC §7 and §19, before any guard so that preflights need no API key. With the origin allowed, a
 * response exposes the gateway's headers, and a preflight is answered 204 with the methods, the
 * request headers allowed (built-in, listed, or with `*` those asked for) and Access-Control-Max-Age.
 * These are set before anything else runs, so a problem response from the gateway carries them too.
 */
export function corsMiddleware(policy: CorsPolicy) {
  const allowed = policy.origins === '*' ? null : new Set(policy.origins);
  const reflect = policy.allowedHeaders === '*';
  const listedHeaders = joined(BUILT_IN_ALLOWED_HEADERS, policy.allowedHeaders === '*' ? [] : policy.allowedHeaders);
  const exposed = GATEWAY_EXPOSED_HEADERS.join(', ');
  const maxAge = String(policy.maxAgeS);
  return (req: IncomingMessage, res: ServerResponse, next: () => void): void => {
    const origin = req.headers.origin;
    const permitted = origin !== undefined && (allowed === null || allowed.has(origin));
    const preflight = req.method === 'OPTIONS' && origin !== undefined && req.headers['access-control-request-method'] !== undefined;
    // A reflected answer depends on what was asked: caches must key it on that too.
    res.setHeader('Vary', preflight && reflect ? 'Origin, Access-Control-Request-Headers' : 'Origin');
    if (permitted) {
      if (allowed === null) {
        res.setHeader('Access-Control-Allow-Origin', '*');
      } else {
        res.setHeader('Access-Control-Allow-Origin', origin);
        res.setHeader('Access-Control-Allow-Credentials', 'true');
      }
    }
    if (!preflight) {
      if (permitted) res.setHeader(EXPOSE_HEADER, exposed);
      next();
      return;
    }
    // A preflight from an origin not listed gets no allow headers: the browser then blocks the call.
    if (permitted) {
      res.setHeader('Access-Control-Allow-Methods', ALLOW_METHODS);
      const asked = req.headers['access-control-request-headers'];
      res.setHeader('Access-Control-Allow-Headers', reflect ? joined(BUILT_IN_ALLOWED_HEADERS, fieldNames(asked)) : listedHeaders);
      res.setHeader('Access-Control-Max-Age', maxAge);
    }
    res.statusCode = 204;
    res.setHeader('Content-Length', '0');
    res.end();
  };
}

/**
 * SPEC §19: a proxied response's Access-Control-Expose-Headers is the gateway's list plus the names
 * the upstream lists in its own. Called before the upstream's Access-Control-* headers are dropped;
 * does nothing where the gateway exposes nothing (CORS off, or an origin that is not allowed).
 */
export function exposeUpstreamHeaders(res: ServerResponse, upstream: string | string[] | undefined): void {
  if (upstream === undefined) return;
  const ours = res.getHeader(EXPOSE_HEADER);
  if (typeof ours !== 'string') return;
  res.setHeader(EXPOSE_HEADER, joined(fieldNames(ours), fieldNames(upstream)));
}
