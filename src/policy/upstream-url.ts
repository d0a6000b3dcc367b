/** The path prefix of an upstream base URL, without a trailing '/' ('' for the root). */
export function upstreamPrefix(base: URL): string {
  return base.pathname === '/' ? '' : base.pathname.replace(/\/+$/, '');
}

/**
 * http-proxy's urlJoin rewrites "http:/" to "http://" inside a path, so a path holding either scheme
 * marker would reach the upstream changed: such a path is refused instead (400 bad_path).
 */
export function forwardsUnchanged(forwardPath: string): boolean {
  return !forwardPath.includes('http:/') && !forwardPath.includes('https:/');
}
