import type { RuleResult } from '../config/schema';

// eslint-disable-next-line no-control-regex -- whitespace and control characters are what is refused
const WHITESPACE_OR_CONTROL = /[\s\u0000-\u001f\u007f]/;

const refused = (problem: string): RuleResult<string> => ({ ok: false, problems: [problem] });

/**
 * SPEC §3 `upstreamBaseUrl`: an absolute http(s) URL without query, fragment or credentials, in
 * canonical form without a trailing `/`, so the upstream URL is this prefix + the request path.
 */
export function canonicalUpstreamUrl(value: string): RuleResult<string> {
  const url = parseHttpUrl(value);
  if (!(url instanceof URL)) return refused(url);
  // Checked on the raw text: the URL parser drops an empty `?` or `#`.
  if (value.includes('?')) return refused('must not contain a query string');
  if (value.includes('#')) return refused('must not contain a fragment');
  if (url.username !== '' || url.password !== '') return refused('must not contain credentials');
  return { ok: true, value: url.origin + url.pathname.replace(/\/+$/, '') };
}

/**
 * SPEC §3 `idp.jwksUri`, in canonical form: `https:` unless the host is loopback or `allowHttp`
 * (JWKS_ALLOW_HTTP) is set, since keys fetched over plain HTTP could be swapped in transit,
 * letting anyone mint accepted tokens.
 */
export function canonicalJwksUri(value: string, allowHttp: boolean): RuleResult<string> {
  const url = parseHttpUrl(value);
  if (!(url instanceof URL)) return refused(url);
  if (url.username !== '' || url.password !== '') return refused('must not contain credentials');
  if (url.hash !== '') return refused('must not contain a fragment');
  if (url.protocol === 'http:' && !allowHttp && !isLoopbackHost(url.hostname)) {
    return refused('must use https: (http: only for a loopback host, or with JWKS_ALLOW_HTTP=true)');
  }
  return { ok: true, value: url.href };
}

/** An absolute `http:`/`https:` URL, written out (the URL parser would accept `http:host`), or the problem. */
function parseHttpUrl(value: string): URL | string {
  if (WHITESPACE_OR_CONTROL.test(value)) return 'must not contain whitespace or control characters';
  if (!/^https?:\/\//i.test(value) || !URL.canParse(value)) return 'must be an absolute http: or https: URL';
  return new URL(value);
}

function isLoopbackHost(hostname: string): boolean {
  // The URL parser has already canonicalised IPv4 (`127.1` -> `127.0.0.1`) and IPv6 forms.
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}
