import { isIPv6 } from 'node:net';
import { badRequest, methodNotAllowed, type GatewayError } from '../errors/gateway-error';

/** The methods the gateway serves, for the Allow header of a 405 (RFC 9110 §15.5.6). */
const ALLOW = 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS';

/** host [":" port] (RFC 3986 §3.2.2): an IP literal in brackets, or a reg-name (IPv4 is one too). */
const AUTHORITY = /^(?:\[([0-9A-Fa-f:.]+)\]|(?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})+)(?::(\d{1,5}))?$/;

/**
 * SPEC §18, what is refused before anything else reads the request, on either plane: `CONNECT` and
 * `TRACE` (405 method_not_allowed, whatever the target: the gateway tunnels nothing and echoes
 * nothing), then two Host fields or a Host that is not a valid authority (400 bad_request, RFC 9112
 * §3.2: it would reach the upstream as X-Forwarded-Host). `rawHeaders` is Node's flat name/value list,
 * so repeated fields are seen; the edge and explain both ask here, so they cannot disagree.
 */
export function requestRefusal(method: string, rawHeaders: readonly string[]): GatewayError | null {
  if (method === 'CONNECT' || method === 'TRACE') return methodNotAllowed(`The ${method} method is not allowed.`, ALLOW);
  let host: string | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (!isHost(rawHeaders[i])) continue;
    if (host !== undefined) return badRequest('The request has more than one Host field (RFC 9112 §3.2).');
    host = rawHeaders[i + 1];
  }
  if (host !== undefined && !isAuthority(host)) {
    return badRequest('The Host field is not a valid host[:port] (RFC 9112 §3.2): no "/", "@", "\\", whitespace or bad port.');
  }
  return null;
}

/** `host` in any case, compared without allocating: every request's header names pass here. */
function isHost(name: string): boolean {
  return (
    name.length === 4 &&
    (name.charCodeAt(0) | 0x20) === 0x68 &&
    (name.charCodeAt(1) | 0x20) === 0x6f &&
    (name.charCodeAt(2) | 0x20) === 0x73 &&
    (name.charCodeAt(3) | 0x20) === 0x74
  );
}

/** An empty Host is allowed (RFC 9112 §3.2, a target without authority); anything else must parse. */
function isAuthority(host: string): boolean {
  if (host === '') return true;
  const match = AUTHORITY.exec(host);
  if (match === null) return false;
  if (match[1] !== undefined && !isIPv6(match[1])) return false;
  return match[2] === undefined || Number(match[2]) <= 65535;
}
