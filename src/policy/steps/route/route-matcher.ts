import { tenantMisconfigured } from '../../../errors/gateway-error';
import type { AllowedRoute } from '../../../tenants/tenant.model';
import { normalizePath } from '../path/path-normalizer';

/** The outcome of matching one request; `route` is null when no allowed route covers the path. */
export interface RouteMatch {
  readonly route: AllowedRoute | null;
  readonly methodAllowed: boolean;
}

interface CompiledRoute {
  /** The normalized route path without trailing `/`; `''` for the root route. */
  readonly prefix: string;
  /** `prefix` as a case-insensitive, NFKC-folding upstream reads it (see `readingOf`). */
  readonly reading: string;
  /** Upper-cased allowed methods; null when the route allows every method. */
  readonly methods: ReadonlySet<string> | null;
  /** Prebuilt results so that matching allocates nothing. */
  readonly allowed: RouteMatch;
  readonly denied: RouteMatch;
}

/** A tenant's routes prepared once per tenant load: longest prefix first. */
export interface CompiledRoutes {
  readonly entries: readonly CompiledRoute[];
  /** Each route's place in `entries`, so a matched route is found without a scan. */
  readonly positions: ReadonlyMap<AllowedRoute, number>;
}

const NO_MATCH: RouteMatch = Object.freeze({ route: null, methodAllowed: false });

/**
 * Prepares `routes` for `matchRoute`. Route paths go through `normalizePath` so that they are
 * compared in the same canonical form as requests (`/v1/%7Eme` is `/v1/~me`). Throws
 * `tenantMisconfigured` for a route path that cannot be normalized: failing closed beats silently
 * dropping a route whose restrictions would then fall back to a shorter, laxer one.
 */
export function compileRoutes(routes: readonly AllowedRoute[]): CompiledRoutes {
  const entries = routes.map(compileRoute);
  // Stable sort: of two identical paths the first listed decides (validation should reject duplicates).
  entries.sort((a, b) => b.prefix.length - a.prefix.length);
  const positions = new Map<AllowedRoute, number>();
  // The first listed of two identical routes is the one matchRoute returns.
  entries.forEach((entry, i) => {
    const route = entry.allowed.route!;
    if (!positions.has(route)) positions.set(route, i);
  });
  return Object.freeze({ entries: Object.freeze(entries), positions });
}

function compileRoute(route: AllowedRoute): CompiledRoute {
  let normalized: string;
  try {
    normalized = normalizePath(route.path);
  } catch {
    throw tenantMisconfigured();
  }
  const prefix = normalized.endsWith('/') ? normalized.slice(0, -1) : normalized;
  const methods = route.methods ? new Set(route.methods.map((m) => m.toUpperCase())) : null;
  return {
    prefix,
    reading: readingOf(prefix),
    methods,
    allowed: Object.freeze({ route, methodAllowed: true }),
    denied: Object.freeze({ route, methodAllowed: false }),
  };
}

/**
 * SPEC §3. `path` must already be normalized (`normalizePath`). The longest route whose path
 * equals `path` or is a prefix of it ending on a segment boundary decides; case-sensitive.
 * When that route lists `methods` and `method` is not among them the request is denied, and
 * shorter routes get no second chance: the most specific policy wins. HEAD is not implied by
 * GET: a route must list every method it allows, so nothing is allowed implicitly.
 * Accepts raw routes for convenience (compiled on every call); the hot path passes `CompiledRoutes`.
 */
export function matchRoute(
  routes: CompiledRoutes | readonly AllowedRoute[],
  path: string,
  method: string,
): RouteMatch {
  const { entries } = isCompiled(routes) ? routes : compileRoutes(routes);
  const subject = path.includes('%') ? decodeDelimiters(path) : path;
  const verb = method.toUpperCase();
  for (const entry of entries) {
    if (!coversPath(entry.prefix, subject)) continue;
    if (entry.methods === null || entry.methods.has(verb)) return entry.allowed;
    return entry.denied;
  }
  return NO_MATCH;
}

/** Normalized escapes of the delimiters `! $ & ' ( ) * + , ; = : @` (the normalizer upper-cases hex). */
const ESCAPED_DELIMITER = /%(?:2[146-9A-C]|3[ABD]|40)/g;

/**
 * For matching only: a route may name `/v1/a:b` while a client sends `/v1/a%3Ab`, which most
 * upstreams treat alike; comparing both forms as one keeps the stricter route in force. The path
 * forwarded upstream is left as it is. `/`, `?`, `#` and `%` are never decoded.
 */
function decodeDelimiters(path: string): string {
  return path.replace(ESCAPED_DELIMITER, decodeEscape);
}

function decodeEscape(escape: string): string {
  return String.fromCharCode(parseInt(escape.slice(1), 16));
}

function isCompiled(routes: CompiledRoutes | readonly AllowedRoute[]): routes is CompiledRoutes {
  return !Array.isArray(routes);
}

/**
 * SPEC §18, case: the allowed route, longer than `matched` or as long, that `path` would match if it
 * were read case-insensitively, or (when it holds percent-encoded non-ASCII characters) after Unicode
 * NFKC (`/foo/%EF%BD%82ar` is `/foo/bar` to such an upstream); null when there is none. Such an
 * upstream would serve that route's resource while `matched` authorized the request. A route as long
 * can only be one that differs from `matched` by case: the upstream cannot tell the two apart either.
 */
export function otherRouteByReading(routes: CompiledRoutes, path: string, matched: AllowedRoute): AllowedRoute | null {
  const { entries } = routes;
  const own = routes.positions.get(matched);
  if (own === undefined) return null;
  const length = entries[own].prefix.length;
  // Without escapes a normalized path is plain ASCII: compared folding A-Z, nothing is allocated.
  const reading = path.includes('%') ? readingOf(path) : null;
  for (let i = 0; i < entries.length && entries[i].prefix.length >= length; i++) {
    if (i === own) continue;
    const covers = reading === null ? coversIgnoringAsciiCase(entries[i].reading, path) : coversPath(entries[i].reading, reading);
    if (covers) return entries[i].allowed.route;
  }
  return null;
}

/**
 * How the most lenient of upstreams reads a path: every escape decoded, NFKC-normalized, and
 * case-folded (upper then lower, so that "ſ" reads as "s" and "K", the Kelvin sign, as "k").
 * An ASCII path without escapes is only lower-cased.
 */
export function readingOf(path: string): string {
  if (!path.includes('%')) return path.toLowerCase();
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    decoded = path; // never for a normalized path: its escapes are valid UTF-8
  }
  return decoded.normalize('NFKC').toUpperCase().toLowerCase();
}

/** coversPath for a lower-case `prefix`, with A-Z in `path` read as a-z. */
function coversIgnoringAsciiCase(prefix: string, path: string): boolean {
  const n = prefix.length;
  if (path.length < n) return false;
  for (let i = 0; i < n; i++) {
    const c = path.charCodeAt(i);
    if ((c >= 0x41 && c <= 0x5a ? c | 0x20 : c) !== prefix.charCodeAt(i)) return false;
  }
  return path.length === n || path.charCodeAt(n) === 0x2f;
}

/** True when `path` equals `prefix` or continues it with `/`; the root prefix `''` covers all. */
function coversPath(prefix: string, path: string): boolean {
  if (!path.startsWith(prefix)) return false;
  return path.length === prefix.length || path.charCodeAt(prefix.length) === 0x2f;
}
