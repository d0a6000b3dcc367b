/**
 * Route paths (SPEC §3) are compared with normalized request paths (SPEC §5.1), so a route that
 * normalization would change or refuse could never match as written: it is refused when written,
 * not discovered at match time. These rules are the normalizer's, stated for a route: a path they
 * accept is one the normalizer leaves as it is (a test holds the two together).
 */

// eslint-disable-next-line no-control-regex -- control characters are exactly what is being refused
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

/** Everything wrong with a route path; empty when it is valid. */
export function routePathProblems(path: string): string[] {
  const problems: string[] = [];
  if (!path.startsWith('/')) problems.push('must start with "/"');
  if (path.includes('?') || path.includes('#')) problems.push('must not contain a query or fragment ("?" or "#")');
  if (path.includes('%')) problems.push('must not contain "%": write the path decoded, as requests are matched after normalization');
  if (path.includes('\\')) problems.push('must not contain "\\"');
  if (CONTROL_CHARS.test(path)) problems.push('must not contain control characters');
  // Non-ASCII reaches the gateway percent-encoded, and "%" is refused above.
  if (/[\u0080-\uffff]/.test(path)) problems.push('must contain only ASCII characters');
  if (path.includes('//')) problems.push('must not contain "//": repeated slashes are merged before matching');
  const segments = path.split('/');
  if (segments.some((s) => s === '.' || s === '..')) {
    problems.push('must not contain "." or ".." segments: they are resolved before matching');
  }
  if (segments.some(isDotSegmentWithParams)) {
    problems.push('must not contain a "." or ".." segment with ";" parameters: it can never match a normalized request path');
  }
  return problems;
}

/** `.;x` and `..;x`: the normalizer refuses them, as servlet containers would read them as `.` / `..`. */
function isDotSegmentWithParams(segment: string): boolean {
  return /^\.\.?;/.test(segment);
}

/** The path routes are matched with: a trailing `/` is ignored (SPEC §3), the root route `/` kept. */
export function routeMatchPath(path: string): string {
  return path === '/' ? path : path.replace(/\/$/, '');
}
