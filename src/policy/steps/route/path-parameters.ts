import { badPath } from '../../../errors/gateway-error';

/**
 * SPEC §18, path parameters. Servlet containers and Spring drop `;…` from every segment before they
 * route (`/v1/open/admin;x` is `/v1/open/admin`), some after decoding `%3B`: matched as written, such
 * a path would be authorized by a laxer route than the one the upstream serves. `path` is normalized
 * (§5.1), so an escaped `;` is always `%3B`.
 *
 * Without the tenant's `pathParameters` a `;` is refused. With it, the path routes are matched with is
 * returned: each segment without its parameters, raw or escaped, and empty segments merged as the
 * normalizer merges them. The path forwarded is not changed.
 */
export function routePathOf(path: string, pathParameters: boolean): string {
  if (!path.includes(';') && !path.includes('%3B')) return path;
  if (!pathParameters) {
    throw badPath('A ";" in the path (a path parameter) is not allowed: servlet containers and Spring would drop what follows it.');
  }
  const segments = path.split('/');
  const kept: string[] = [];
  let last = '';
  for (let i = 1; i < segments.length; i++) {
    last = withoutParameters(segments[i]);
    // `..%3Bx` passes the normalizer as a plain segment, but reads as `..` once its parameters are gone.
    if (last === '.' || last === '..') throw badPath('A dot segment with ";" parameters is not allowed.');
    if (last !== '') kept.push(last);
  }
  if (kept.length === 0) return '/';
  return '/' + kept.join('/') + (last === '' ? '/' : '');
}

function withoutParameters(segment: string): string {
  const raw = segment.indexOf(';');
  const escaped = segment.indexOf('%3B');
  const cut = raw === -1 ? escaped : escaped === -1 ? raw : Math.min(raw, escaped);
  return cut === -1 ? segment : segment.slice(0, cut);
}
