import type { IncomingMessage, ServerResponse } from 'node:http';

const ALLOW_HEADERS = 'Content-Type, Authorization, X-API-Key, X-Admin-Token, X-Request-Id';
const ALLOW_METHODS = 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS';
const EXPOSE_HEADERS = 'X-Request-Id, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, Retry-After';

/**
 * SPEC §7, before any guard so that preflights need no API key. `null` = no CORS at all;
 * '*' = any origin without credentials; a list = reflect listed origins with credentials.
 */
export function corsMiddleware(origins: '*' | readonly string[]) {
  const allowed = origins === '*' ? null : new Set(origins);
  return (req: IncomingMessage, res: ServerResponse, next: () => void): void => {
    res.setHeader('Vary', 'Origin');
    const origin = req.headers.origin;
    const permitted = origin !== undefined && (allowed === null || allowed.has(origin));
    if (permitted) {
      if (allowed === null) {
        res.setHeader('Access-Control-Allow-Origin', '*');
      } else {
        res.setHeader('Access-Control-Allow-Origin', origin);
        res.setHeader('Access-Control-Allow-Credentials', 'true');
      }
    }
    const preflight =
      req.method === 'OPTIONS' && origin !== undefined && req.headers['access-control-request-method'] !== undefined;
    if (!preflight) {
      if (permitted) res.setHeader('Access-Control-Expose-Headers', EXPOSE_HEADERS);
      next();
      return;
    }
    // A preflight from an origin not listed gets no allow headers: the browser then blocks the call.
    if (permitted) {
      res.setHeader('Access-Control-Allow-Methods', ALLOW_METHODS);
      res.setHeader('Access-Control-Allow-Headers', ALLOW_HEADERS);
      res.setHeader('Access-Control-Max-Age', '600');
    }
    res.statusCode = 204;
    res.setHeader('Content-Length', '0');
    res.end();
  };
}
