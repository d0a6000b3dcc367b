import { existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { parseEnv } from 'node:util';
import type { GatewayConfig, LogLevel, RedisConfig, RedisTlsOptions } from './config.types';

export interface ConfigProblem {
  variable: string;
  message: string;
}

/** Every invalid variable at once, so one start attempt shows the operator everything to fix. */
export class ConfigError extends Error {
  constructor(readonly problems: ConfigProblem[]) {
    super(
      [
        `Invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):`,
        ...problems.map((p) => `${p.variable}: ${p.message}`),
      ].join('\n'),
    );
    this.name = 'ConfigError';
  }
}

type Env = NodeJS.ProcessEnv | Record<string, string | undefined>;

const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const TRUE_WORDS = ['true', '1', 'yes'];
const FALSE_WORDS = ['false', '0', 'no'];
/** Larger delays overflow Node's timers and fire after 1 ms instead. */
const MAX_TIMER_MS = 2_147_483_647;
/** proxy-addr's named subnets, accepted by Express "trust proxy". */
const TRUST_PROXY_NAMES = ['loopback', 'linklocal', 'uniquelocal'];

/** Reads variables one at a time, recording problems instead of throwing. */
class EnvReader {
  readonly problems: ConfigProblem[] = [];

  constructor(private readonly env: Env) {}

  /** Empty strings count as unset so `VAR=` in a .env file falls back to the default. */
  raw(name: string): string | undefined {
    const value = this.env[name];
    return value === undefined || value === '' ? undefined : value;
  }

  has(name: string): boolean {
    return this.raw(name) !== undefined;
  }

  problem(variable: string, message: string): void {
    this.problems.push({ variable, message });
  }

  string(name: string, fallback: string): string;
  string(name: string, fallback: null): string | null;
  string(name: string, fallback: string | null): string | null {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    if (value.trim() === '') {
      this.problem(name, 'must not be blank');
      return fallback;
    }
    return value;
  }

  int(name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    const parsed = parseDecimal(value);
    if (parsed === null || parsed < min || parsed > max) {
      this.problem(name, `must be an integer from ${min} to ${max} (got ${quote(value)})`);
      return fallback;
    }
    return parsed;
  }

  bool(name: string, fallback: boolean): boolean {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    const parsed = parseBool(value);
    if (parsed === null) {
      this.problem(name, `must be true/false, yes/no or 1/0 (got ${quote(value)})`);
      return fallback;
    }
    return parsed;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    const lower = value.trim().toLowerCase();
    const match = allowed.find((a) => a === lower);
    if (match === undefined) {
      this.problem(name, `must be one of ${allowed.join(', ')} (got ${quote(value)})`);
      return fallback;
    }
    return match;
  }
}

/** Plain decimal digits only: `1e3`, `0x10`, `12abc`, `-1` and blanks are not numbers here. */
function parseDecimal(value: string): number | null {
  if (!/^\d+$/.test(value)) return null;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : null;
}

function parseBool(value: string): boolean | null {
  const lower = value.trim().toLowerCase();
  if (TRUE_WORDS.includes(lower)) return true;
  if (FALSE_WORDS.includes(lower)) return false;
  return null;
}

function quote(value: string): string {
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
}

function deepFreeze<T>(value: T): Readonly<T> {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/**
 * Builds the gateway configuration from an environment map (SPEC §9). Pure: reads only `env`.
 * Throws ConfigError listing every invalid variable; never echoes secret values.
 */
export function loadConfig(env: Env): Readonly<GatewayConfig> {
  const r = new EnvReader(env);
  const config: GatewayConfig = {
    port: r.int('PORT', 3000, 0, 65535),
    host: readHost(r),
    redis: readRedis(r),
    logLevel: r.oneOf('LOG_LEVEL', LOG_LEVELS, 'info'),
    adminToken: readAdminToken(r),
    corsOrigins: readCorsOrigins(r),
    tenantCacheTtlMs: r.int('TENANT_CACHE_TTL_MS', 5000, 0, MAX_TIMER_MS),
    tenantsFile: r.string('TENANTS_FILE', null),
    upstreamTimeoutMs: r.int('UPSTREAM_TIMEOUT_MS', 30000, 1, MAX_TIMER_MS),
    maxBodyBytes: r.int('MAX_BODY_BYTES', 10_485_760, 0),
    rateLimitFailureMode: r.oneOf('RATE_LIMIT_FAILURE_MODE', ['open', 'closed'] as const, 'open'),
    jwtClockToleranceS: r.int('JWT_CLOCK_TOLERANCE_S', 5, 0),
    jwksAllowHttp: r.bool('JWKS_ALLOW_HTTP', false),
    trustProxy: readTrustProxy(r),
    shutdownGraceMs: r.int('SHUTDOWN_GRACE_MS', 25000, 0, MAX_TIMER_MS),
  };
  if (r.problems.length > 0) throw new ConfigError(r.problems);
  return deepFreeze(config);
}

function readHost(r: EnvReader): string {
  const host = r.string('HOST', '0.0.0.0');
  if (/\s/.test(host)) r.problem('HOST', `must be a host name or address without spaces (got ${quote(host)})`);
  return host;
}

function readAdminToken(r: EnvReader): string | null {
  const token = r.raw('ADMIN_TOKEN');
  if (token === undefined) return null;
  // A short or padded token is usually a placeholder; refuse to guard /admin with it.
  if (token.length < 16) r.problem('ADMIN_TOKEN', 'must be at least 16 characters (use a long random value)');
  if (/\s/.test(token)) r.problem('ADMIN_TOKEN', 'must not contain whitespace');
  return token;
}

function readCorsOrigins(r: EnvReader): '*' | string[] | null {
  const value = r.raw('CORS_ORIGINS');
  if (value === undefined) return null;
  if (value.trim() === '*') return '*';
  const entries = value
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
  if (entries.length === 0) {
    r.problem('CORS_ORIGINS', 'must be "*" or a comma-separated list of origins');
    return null;
  }
  const origins: string[] = [];
  for (const entry of entries) {
    const origin = parseOrigin(entry);
    if (origin === null) {
      r.problem(
        'CORS_ORIGINS',
        `${quote(entry)} is not an origin: use "*" alone or http(s)://host[:port] without a path or trailing slash`,
      );
    } else if (!origins.includes(origin)) {
      origins.push(origin);
    }
  }
  return origins;
}

/** Returns the origin as browsers send it (lower-case host, default port dropped), or null. */
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

function readTrustProxy(r: EnvReader): boolean | number | string {
  const value = r.raw('TRUST_PROXY');
  if (value === undefined) return false;
  const trimmed = value.trim();
  // Digits are a hop count, so `1` means "one proxy", not "trust every X-Forwarded-For hop".
  const hops = parseDecimal(trimmed);
  if (hops !== null) return hops;
  const lower = trimmed.toLowerCase();
  if (lower === 'true' || lower === 'yes') return true;
  if (lower === 'false' || lower === 'no') return false;
  const entries = trimmed.split(',').map((e) => e.trim());
  const bad = entries.filter((e) => !isTrustProxyEntry(e));
  if (bad.length > 0) {
    r.problem(
      'TRUST_PROXY',
      `must be true/false, a hop count, or a comma list of IPs, CIDRs or loopback/linklocal/uniquelocal ` +
        `(bad: ${bad.map(quote).join(', ')})`,
    );
    return false;
  }
  return entries.join(',');
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

function readRedis(r: EnvReader): RedisConfig | null {
  // Read every Redis variable first so bad values are reported even when unused.
  const url = r.raw('REDIS_URL');
  const clusterNodes = r.raw('REDIS_CLUSTER_NODES');
  const host = r.string('REDIS_HOST', null);
  const port = r.int('REDIS_PORT', 6379, 1, 65535);
  const db = r.int('REDIS_DB', 0, 0);
  const password = r.raw('REDIS_PASSWORD') ?? null;
  const tls: RedisTlsOptions = {
    enabled: r.bool('REDIS_TLS', false),
    rejectUnauthorized: r.bool('REDIS_TLS_REJECT_UNAUTHORIZED', true),
  };

  if (clusterNodes !== undefined) {
    // One source of truth: a second address would be silently ignored otherwise.
    for (const other of ['REDIS_URL', 'REDIS_HOST', 'REDIS_PORT', 'REDIS_DB']) {
      if (r.has(other)) {
        r.problem(other, 'cannot be combined with REDIS_CLUSTER_NODES (cluster mode has no single address or db)');
      }
    }
    return { mode: 'cluster', nodes: parseClusterNodes(r, clusterNodes), password, tls };
  }

  if (url !== undefined) {
    for (const other of ['REDIS_HOST', 'REDIS_PORT', 'REDIS_DB']) {
      if (r.has(other)) r.problem(other, 'cannot be combined with REDIS_URL (put host, port and db in the URL)');
    }
    return parseRedisUrl(r, url, password, tls);
  }

  if (host === null) return null;
  return { mode: 'single', url: null, host, port, password, db, tls };
}

function parseClusterNodes(r: EnvReader, value: string): { host: string; port: number }[] {
  const entries = value
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
  if (entries.length === 0) r.problem('REDIS_CLUSTER_NODES', 'must be a comma-separated list of host:port');
  const nodes: { host: string; port: number }[] = [];
  for (const entry of entries) {
    const node = parseHostPort(entry);
    if (node === null) r.problem('REDIS_CLUSTER_NODES', `${quote(entry)} is not host:port with a port from 1 to 65535`);
    else nodes.push(node);
  }
  return nodes;
}

/** `host:port`, `1.2.3.4:port` or `[ipv6]:port`; the port is required. */
function parseHostPort(entry: string): { host: string; port: number } | null {
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

function parseRedisUrl(r: EnvReader, value: string, password: string | null, tls: RedisTlsOptions): RedisConfig {
  // The URL may carry a password, so messages never include it.
  const fallback: RedisConfig = { mode: 'single', url: value, host: '', port: 6379, password, db: 0, tls };
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    r.problem('REDIS_URL', 'must be a URL such as redis://host:6379/0 or rediss://host:6380');
    return fallback;
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    r.problem('REDIS_URL', `must use redis:// or rediss:// (got ${url.protocol}//)`);
    return fallback;
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') r.problem('REDIS_URL', 'must include a host');
  const dbPath = url.pathname.replace(/^\//, '');
  const db = dbPath === '' ? 0 : parseDecimal(dbPath);
  if (db === null) r.problem('REDIS_URL', 'path must be empty or a database number such as /0');
  const secure = url.protocol === 'rediss:';
  if (secure && r.raw('REDIS_TLS') !== undefined && !tls.enabled) {
    r.problem('REDIS_TLS', 'cannot be false when REDIS_URL uses rediss:// (TLS)');
  }
  const port = url.port === '' ? 6379 : Number(url.port);
  if (port < 1) r.problem('REDIS_URL', 'port must be from 1 to 65535');
  return {
    mode: 'single',
    url: value,
    host,
    port,
    // REDIS_PASSWORD wins so the secret can live outside the URL.
    password: password ?? (url.password === '' ? null : decodeURIComponent(url.password)),
    db: db ?? 0,
    tls: { enabled: tls.enabled || secure, rejectUnauthorized: tls.rejectUnauthorized },
  };
}

/**
 * Loads a .env file into process.env if it exists, with Node's own parser (no dotenv). Variables
 * already set win, so the real environment always overrides the file.
 */
export function loadDotEnv(path = '.env'): void {
  if (!existsSync(path)) return;
  // parseEnv is the parser behind process.loadEnvFile; assigning ourselves keeps it visible to
  // whatever process.env object the caller sees (jest gives each test file its own copy).
  const parsed = parseEnv(readFileSync(path, 'utf8'));
  for (const [name, value] of Object.entries(parsed)) {
    if (process.env[name] === undefined && value !== undefined) process.env[name] = value;
  }
}
