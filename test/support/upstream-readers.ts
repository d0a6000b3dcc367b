/**
 * How four kinds of upstream read a forwarded path, written independently of the gateway's own code
 * (SPEC §18 differential tests). Each turns the path the upstream received into the path it routes
 * on, and states how it compares that path with a route's path.
 */
export interface UpstreamReader {
  name: string;
  /** The path as this upstream routes on it. */
  read(path: string): string;
  /** A route's path in the same form, so that `read(p)` and `form(route)` compare directly. */
  form(routePath: string): string;
}

/** Decodes the escapes `decodeWhich` picks (bytes as UTF-8); the others are kept with upper-case hex. */
function percentDecode(path: string, decodeWhich: (byte: number) => boolean): string {
  const bytes: number[] = [];
  let out = '';
  const flush = () => {
    if (bytes.length > 0) out += Buffer.from(bytes).toString('utf8');
    bytes.length = 0;
  };
  for (let i = 0; i < path.length; i++) {
    const escape = /^%([0-9A-Fa-f]{2})/.exec(path.slice(i, i + 3));
    if (escape !== null) {
      const byte = parseInt(escape[1], 16);
      if (decodeWhich(byte)) {
        bytes.push(byte);
        i += 2;
        continue;
      }
      flush();
      out += '%' + escape[1].toUpperCase();
      i += 2;
      continue;
    }
    flush();
    out += path[i];
  }
  flush();
  return out;
}

const isUnreserved = (byte: number) => /[A-Za-z0-9\-._~]/.test(String.fromCharCode(byte));

/** RFC 3986 §5.2.4 remove_dot_segments, verbatim (a `..` above the root is dropped, as the RFC says). */
function removeDotSegments(path: string): string {
  let input = path;
  let output = '';
  while (input.length > 0) {
    if (input.startsWith('../')) input = input.slice(3);
    else if (input.startsWith('./')) input = input.slice(2);
    else if (input.startsWith('/./')) input = input.slice(2);
    else if (input === '/.') input = '/';
    else if (input.startsWith('/../')) {
      input = input.slice(3);
      output = output.slice(0, Math.max(0, output.lastIndexOf('/')));
    } else if (input === '/..') {
      input = '/';
      output = output.slice(0, Math.max(0, output.lastIndexOf('/')));
    } else if (input === '.' || input === '..') input = '';
    else {
      const next = input.indexOf('/', 1);
      const end = next === -1 ? input.length : next;
      output += input.slice(0, end);
      input = input.slice(end);
    }
  }
  return output;
}

/** RFC 3986 §6.2.2: unreserved escapes decoded, hex upper-cased, dot segments removed. */
function rfc3986(path: string): string {
  return removeDotSegments(percentDecode(path, isUnreserved));
}

/** Case folding as `equalsIgnoreCase` and full case folding both see it: "ſ" is "s", "ß" is "ss". */
const fold = (text: string) => text.toUpperCase().toLowerCase();

/** Plain RFC 3986: compares the syntax-normalized path with the route as written. */
export const rfc3986Reader: UpstreamReader = { name: 'RFC 3986', read: rfc3986, form: rfc3986 };

/**
 * A servlet container or Spring: drops `;…` from every segment (raw, or `%3B` where the framework
 * decodes first), decodes every escape, removes dot segments and merges repeated slashes.
 */
export const servletReader: UpstreamReader = {
  name: 'servlet ";"-stripping',
  read(path) {
    const stripped = path
      .split('/')
      .map((segment) => segment.replace(/(?:;|%3[Bb]).*$/, ''))
      .join('/');
    const merged = percentDecode(stripped, () => true).replace(/\/{2,}/g, '/');
    return removeDotSegments(merged).replace(/\/{2,}/g, '/');
  },
  form: (routePath) => percentDecode(routePath, () => true),
};

/**
 * An upstream that applies Unicode NFKC to the percent-encoded non-ASCII characters of the path,
 * then parses the result as RFC 3986: what NFKC turned into `?` or `#` ends the path, what it turned
 * into `%` starts an escape, and `.` segments are removed.
 */
export const nfkcReader: UpstreamReader = {
  name: 'NFKC-then-RFC 3986',
  read(path) {
    const unicode = percentDecode(path, (byte) => byte >= 0x80).normalize('NFKC');
    const end = unicode.search(/[?#]/);
    const asUri = (end === -1 ? unicode : unicode.slice(0, end)).replace(/[^\x21-\x7e]/g, (ch) => encodeURIComponent(ch));
    return rfc3986(asUri);
  },
  form: rfc3986,
};

/** A case-insensitive upstream: the normalized path, decoded and case-folded, against folded routes. */
export const caseFoldingReader: UpstreamReader = {
  name: 'case-folding',
  read: (path) => fold(percentDecode(rfc3986(path), () => true)),
  form: (routePath) => fold(percentDecode(rfc3986(routePath), () => true)),
};

export const UPSTREAM_READERS: readonly UpstreamReader[] = [rfc3986Reader, servletReader, nfkcReader, caseFoldingReader];

export interface ReadRoute {
  path: string;
  jwt: boolean;
  /** Upper-case methods; undefined allows every method. */
  methods?: readonly string[];
}

/** The route a reader's upstream serves `path` from: the longest whose path covers it on a segment boundary. */
export function landingRoute<R extends ReadRoute>(reader: UpstreamReader, routes: readonly R[], path: string): R | null {
  const read = reader.read(path);
  let best: R | null = null;
  let bestLength = -1;
  for (const route of routes) {
    const prefix = reader.form(route.path === '/' ? '' : route.path.replace(/\/$/, ''));
    const covers = read === prefix || read.startsWith(prefix + '/') || prefix === '';
    if (covers && prefix.length > bestLength) {
      best = route;
      bestLength = prefix.length;
    }
  }
  return best;
}

/**
 * Whether `landed` holds a request of `method` to more than `authorized` did: no route at all, a
 * method it does not allow, or a JWT where none was needed.
 */
export function isStricter(landed: ReadRoute | null, authorized: ReadRoute, method: string): boolean {
  if (landed === null) return true;
  if (landed.methods !== undefined && !landed.methods.includes(method)) return true;
  return landed.jwt && !authorized.jwt;
}
