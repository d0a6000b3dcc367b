import { isIP } from 'node:net';
import type { RuleResult } from './schema';

/**
 * How the text of one environment variable becomes a typed value, or what is wrong with it. The
 * text is never empty (an empty variable counts as unset). Messages quote the value, except for
 * the variables that may hold a secret.
 */

const ok = <T>(value: T): RuleResult<T> => ({ ok: true, value });
const refused = <T>(...problems: string[]): RuleResult<T> => ({ ok: false, problems });

const TRUE_WORDS = ['true', '1', 'yes'];
const FALSE_WORDS = ['false', '0', 'no'];
/** proxy-addr's named subnets, accepted by Express "trust proxy". */
const TRUST_PROXY_NAMES = ['loopback', 'linklocal', 'uniquelocal'];

/** Plain decimal digits only: `1e3`, `0x10`, `12abc`, `-1` and blanks are not numbers here. */
export function parseDecimal(value: string): number | null {
  if (!/^\d+$/.test(value)) return null;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : null;
}

export function quote(value: string): string {
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
}

export function integerFrom(min: number, max: number) {
  return (value: string): RuleResult<number> => {
    const n = parseDecimal(value);
    return n !== null && n >= min && n <= max ? ok(n) : refused(`must be an integer from ${min} to ${max} (got ${quote(value)})`);
  };
}

export function booleanWord(value: string): RuleResult<boolean> {
  const lower = value.trim().toLowerCase();
  if (TRUE_WORDS.includes(lower)) return ok(true);
  if (FALSE_WORDS.includes(lower)) return ok(false);
  return refused(`must be true/false, yes/no or 1/0 (got ${quote(value)})`);
}

/** One of `allowed`, ignoring case and surrounding blanks. */
export function oneOf<T extends string>(allowed: readonly T[]) {
  return (value: string): RuleResult<T> => {
    const match = allowed.find((a) => a === value.trim().toLowerCase());
    return match === undefined ? refused(`must be one of ${allowed.join(', ')} (got ${quote(value)})`) : ok(match);
  };
}

/** CORS_ORIGINS: `*`, or exact origins written as browsers send them (lower-case host, default port dropped). */
export function corsOrigins(value: string): RuleResult<'*' | string[]> {
  if (value.trim() === '*') return ok('*');
  const entries = splitList(value);
  if (entries.length === 0) return refused('must be "*" or a comma-separated list of origins');
  const origins: string[] = [];
  const problems: string[] = [];
  for (const entry of entries) {
    const origin = parseOrigin(entry);
    if (origin === null) {
      problems.push(`${quote(entry)} is not an origin: use "*" alone or http(s)://host[:port] without a path or trailing slash`);
    } else if (!origins.includes(origin)) {
      origins.push(origin);
    }
  }
  return problems.length > 0 ? refused(...problems) : ok(origins);
}

function parseOrigin(entry: string): string | null {
  // Wildcards such as https://*.example.com are not supported: list each origin.
  if (!/^https?:\/\/[^/?#@\s*]+$/i.test(entry)) return null;
  try {
    const url = new URL(entry);
    return url.hostname === '' ? null : url.origin;
  } catch {
    return null;
  }
}

/** RFC 9110 §5.1 field name: a token (`X-Correlation-Id`, `traceparent`). */
const FIELD_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Whether `name` is a valid HTTP header name (RFC 9110 §5.1). */
export const isHeaderName = (name: string): boolean => FIELD_NAME.test(name);

/**
 * CORS_ALLOWED_HEADERS: `*` (reflect what a preflight asks for), or a comma list of header names,
 * kept as written and without case-insensitive duplicates.
 */
export function corsHeaderNames(value: string): RuleResult<'*' | string[]> {
  if (value.trim() === '*') return ok('*');
  const entries = splitList(value);
  if (entries.length === 0) return refused('must be "*" or a comma-separated list of header names');
  const names: string[] = [];
  const problems: string[] = [];
  for (const entry of entries) {
    if (entry === '*') problems.push('"*" reflects every requested header: use it alone, not in a list');
    else if (entry.includes('*')) problems.push(`${quote(entry)}: patterns are not supported, list each header name`);
    else if (!isHeaderName(entry)) problems.push(`${quote(entry)} is not a header name`);
    else if (!names.some((n) => n.toLowerCase() === entry.toLowerCase())) names.push(entry);
  }
  return problems.length > 0 ? refused(...problems) : ok(names);
}

/** TRUST_PROXY, as Express "trust proxy" takes it: a boolean, a hop count, or a list of addresses and subnets. */
export function trustProxy(value: string): RuleResult<boolean | number | string> {
  const trimmed = value.trim();
  // Digits are a hop count, so `1` means "one proxy", not "trust every X-Forwarded-For hop".
  const hops = parseDecimal(trimmed);
  if (hops !== null) return ok(hops);
  const lower = trimmed.toLowerCase();
  if (lower === 'true' || lower === 'yes') return ok(true);
  if (lower === 'false' || lower === 'no') return ok(false);
  const entries = trimmed.split(',').map((e) => e.trim());
  const bad = entries.filter((e) => !isTrustProxyEntry(e));
  if (bad.length > 0) {
    return refused(
      `must be true/false, a hop count, or a comma list of IPs, CIDRs or loopback/linklocal/uniquelocal (bad: ${bad.map(quote).join(', ')})`,
    );
  }
  return ok(entries.join(','));
}

function isTrustProxyEntry(entry: string): boolean {
  if (TRUST_PROXY_NAMES.includes(entry.toLowerCase())) return true;
  const slash = entry.indexOf('/');
  if (slash === -1) return isIP(entry) !== 0;
  const family = isIP(entry.slice(0, slash));
  if (family === 0) return false;
  const mask = entry.slice(slash + 1);
  const bits = parseDecimal(mask);
  if (bits !== null) return bits <= (family === 4 ? 32 : 128);
  // proxy-addr also accepts an IPv4 netmask such as 10.0.0.0/255.0.0.0.
  return family === 4 && isIP(mask) === 4;
}

export interface HostPort {
  host: string;
  port: number;
}

/** REDIS_CLUSTER_NODES: a comma list of `host:port`, `1.2.3.4:port` or `[ipv6]:port`. */
export function clusterNodes(value: string): RuleResult<HostPort[]> {
  const entries = splitList(value);
  if (entries.length === 0) return refused('must be a comma-separated list of host:port');
  const nodes: HostPort[] = [];
  const problems: string[] = [];
  for (const entry of entries) {
    const node = parseHostPort(entry);
    if (node === null) problems.push(`${quote(entry)} is not host:port with a port from 1 to 65535`);
    else nodes.push(node);
  }
  return problems.length > 0 ? refused(...problems) : ok(nodes);
}

function parseHostPort(entry: string): HostPort | null {
  const colon = entry.lastIndexOf(':');
  if (colon <= 0) return null;
  let host = entry.slice(0, colon);
  const port = parseDecimal(entry.slice(colon + 1));
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  else if (host.includes(':')) return null;
  if (host === '' || /[\s[\]/]/.test(host)) return null;
  if (port === null || port < 1 || port > 65535) return null;
  return { host, port };
}

export interface RedisUrl {
  /** The URL as written (ioredis reads it). */
  url: string;
  host: string;
  port: number;
  db: number;
  password: string | null;
  /** rediss://: TLS. */
  secure: boolean;
}

/** REDIS_URL: `redis://[:password@]host[:port][/db]` or `rediss://…`. It may carry a password, so messages never include it. */
export function redisUrl(value: string): RuleResult<RedisUrl> {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return refused('must be a URL such as redis://host:6379/0 or rediss://host:6380');
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') return refused(`must use redis:// or rediss:// (got ${url.protocol}//)`);
  const problems: string[] = [];
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') problems.push('must include a host');
  const dbPath = url.pathname.replace(/^\//, '');
  const db = dbPath === '' ? 0 : parseDecimal(dbPath);
  if (db === null) problems.push('path must be empty or a database number such as /0');
  const port = url.port === '' ? 6379 : Number(url.port);
  if (port < 1) problems.push('port must be from 1 to 65535');
  if (problems.length > 0) return refused(...problems);
  const password = url.password === '' ? null : decodeURIComponent(url.password);
  return ok({ url: value, host, port, db: db ?? 0, password, secure: url.protocol === 'rediss:' });
}

function splitList(value: string): string[] {
  return value
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
}

/** WORKERS: a positive integer, or `auto` (the CPUs available to the process, resolved at start). */
export function workerCount(value: string): RuleResult<number | 'auto'> {
  if (value.trim().toLowerCase() === 'auto') return ok('auto');
  const n = parseDecimal(value.trim());
  return n !== null && n >= 1 && n <= 1024 ? ok(n) : refused(`must be "auto" or an integer from 1 to 1024 (got ${quote(value)})`);
}

export function notBlank(value: string): RuleResult<string> {
  return value.trim() === '' ? refused('must not be blank') : ok(value);
}

export function hostName(value: string): RuleResult<string> {
  if (value.trim() === '') return refused('must not be blank');
  return /\s/.test(value) ? refused(`must be a host name or address without spaces (got ${quote(value)})`) : ok(value);
}

/** A short or padded token is usually a placeholder; /admin is never guarded with it. Never quoted: it is a secret. */
export function adminToken(value: string): RuleResult<string> {
  const problems: string[] = [];
  if (value.length < 16) problems.push('must be at least 16 characters (use a long random value)');
  if (/\s/.test(value)) problems.push('must not contain whitespace');
  return problems.length > 0 ? refused(...problems) : ok(value);
}
