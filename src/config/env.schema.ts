import * as z from 'zod';
import type { LogLevel } from './config.types';
import {
  adminToken,
  booleanWord,
  clusterNodes,
  corsHeaderNames,
  corsOrigins,
  hostName,
  integerFrom,
  notBlank,
  oneOf,
  redisUrl,
  trustProxy,
  workerCount,
} from './env-values';
import { ALWAYS, closestName, editDistance, isJsonObject, normalise, type RuleResult } from './schema';

/**
 * SPEC §9: every environment variable the gateway reads, declared once with its validation, its
 * default (used when it is unset or empty) and what it means. docs/configuration.md and
 * .env.example describe the same list.
 */

/** Larger delays overflow Node's timers and fire after 1 ms instead. */
const MAX_TIMER_MS = 2_147_483_647;
export const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

const text = <T>(rule: (value: string) => RuleResult<T>) => z.string().transform(normalise(rule));
const integer = (min: number, max = Number.MAX_SAFE_INTEGER) => text(integerFrom(min, max));
const flag = () => text(booleanWord);

function variable<S extends z.ZodType, D extends z.output<S> | null>(schema: S, fallback: D, meaning: string) {
  return { schema, default: fallback, meaning };
}

export const ENV_VARIABLES = {
  PORT: variable(integer(0, 65535), 3000, 'port to listen on'),
  HOST: variable(text(hostName), '0.0.0.0', 'address to bind'),
  LOG_LEVEL: variable(text(oneOf(LOG_LEVELS)), 'info', 'fatal, error, warn, info, debug, trace or silent'),
  ADMIN_TOKEN: variable(text(adminToken), null, 'X-Admin-Token for /admin/* and /metrics; unset: a random one, logged once'),
  REDIS_URL: variable(text(redisUrl), null, 'redis://[:password@]host:port/db, or rediss:// for TLS'),
  REDIS_HOST: variable(text(notBlank), null, 'Redis host, when not given as REDIS_URL'),
  REDIS_PORT: variable(integer(1, 65535), 6379, 'Redis port, with REDIS_HOST'),
  REDIS_PASSWORD: variable(z.string(), null, 'Redis password (wins over one in REDIS_URL)'),
  REDIS_DB: variable(integer(0), 0, 'Redis database number, with REDIS_HOST'),
  REDIS_TLS: variable(flag(), false, 'TLS to Redis'),
  REDIS_TLS_REJECT_UNAUTHORIZED: variable(flag(), true, "verify the Redis server's certificate"),
  REDIS_CLUSTER_NODES: variable(text(clusterNodes), null, 'Redis Cluster seed nodes, host:port,host:port,…'),
  REDIS_SENTINELS: variable(text(clusterNodes), null, 'Redis Sentinel addresses, host:port,host:port,… (with REDIS_SENTINEL_NAME)'),
  REDIS_SENTINEL_NAME: variable(text(notBlank), null, 'the Sentinel master group the gateway uses'),
  REDIS_SENTINEL_PASSWORD: variable(z.string(), null, "the Sentinels' own password (REDIS_PASSWORD is the data nodes')"),
  CORS_ORIGINS: variable(text(corsOrigins), null, 'unset: no CORS headers; *; or a comma list of exact origins'),
  CORS_ALLOWED_HEADERS: variable(text(corsHeaderNames), [], 'request headers allowed beyond the built-in list: a comma list, or * to allow what a preflight asks for'),
  CORS_MAX_AGE: variable(integer(0, 86400), 600, 'seconds a browser may cache a preflight answer (Access-Control-Max-Age)'),
  TENANT_CACHE_TTL_MS: variable(integer(0, MAX_TIMER_MS), 5000, 'how long a tenant or key is served from the in-process cache'),
  TENANTS_FILE: variable(text(notBlank), null, 'JSON file of tenants upserted into the store at start'),
  UPSTREAM_TIMEOUT_MS: variable(integer(1, MAX_TIMER_MS), 30000, 'upstream idle timeout (504 upstream_timeout)'),
  MAX_BODY_BYTES: variable(integer(0), 10_485_760, "largest request body proxied (a tenant's maxBodyBytes overrides it)"),
  RATE_LIMIT_FAILURE_MODE: variable(text(oneOf(['open', 'closed'] as const)), 'open', 'when Redis cannot answer: admit, or 503'),
  JWT_CLOCK_TOLERANCE_S: variable(integer(0), 5, 'clock skew allowed on JWT exp/nbf'),
  JWT_CACHE_SIZE: variable(integer(0, 10_000_000), 10_000, 'verified-token cache entries; 0 turns the cache off'),
  JWKS_ALLOW_HTTP: variable(flag(), false, 'allow http: JWKS URIs on non-loopback hosts'),
  TRUST_PROXY: variable(text(trustProxy), false, 'Express "trust proxy": a boolean, a hop count, or addresses/CIDRs'),
  ALLOW_UNDERSCORE_HEADERS: variable(flag(), false, 'forward request header names with "_" (never one that reads as a header the gateway sets or strips)'),
  SHUTDOWN_GRACE_MS: variable(integer(0, MAX_TIMER_MS), 25000, 'how long in-flight requests may run once the listener has closed'),
  AUDIT_MAX_ENTRIES: variable(integer(1, 100_000_000), 100_000, 'audit log entries kept; the oldest go first'),
  ADMIN_PORT: variable(integer(0, 65535), null, 'a separate listener for /admin/* and /metrics; unset: one listener serves everything'),
  ADMIN_HOST: variable(text(hostName), '127.0.0.1', 'address the ADMIN_PORT listener binds'),
  METRICS_TOKEN: variable(text(adminToken), null, 'a scrape-only token, accepted on /metrics and nowhere else'),
  WORKERS: variable(text(workerCount), 1, 'worker processes sharing the port: a positive integer, or auto (one per CPU); above 1 needs Redis'),
  SHUTDOWN_DELAY_MS: variable(integer(0, MAX_TIMER_MS), 0, 'after SIGTERM, how long /readyz says 503 while requests are still served'),
};

export type EnvName = keyof typeof ENV_VARIABLES;

/** SPEC names of features not built yet: not read, but known, so never taken for a typo. */
export const PLANNED_VARIABLES: Readonly<Record<string, string>> = {
};

export const KNOWN_VARIABLES: readonly string[] = [...Object.keys(ENV_VARIABLES), ...Object.keys(PLANNED_VARIABLES)];

type EnvShape = { [K in EnvName]: z.ZodOptional<(typeof ENV_VARIABLES)[K]['schema']> };
const shape = Object.fromEntries(Object.entries(ENV_VARIABLES).map(([name, v]) => [name, v.schema.optional()])) as EnvShape;

/** The variables that are set (absent = unset), each validated, then the rules between them. */
export const EnvSchema = z.object(shape).superRefine((env, ctx) => {
  if (!isJsonObject(env)) return;
  const set = (name: EnvName) => env[name] !== undefined;
  const refuse = (names: EnvName[], message: string) => {
    for (const name of names.filter(set)) ctx.addIssue({ code: 'custom', path: [name], message });
  };
  if (set('ADMIN_PORT') && env.ADMIN_PORT !== 0 && env.ADMIN_PORT === (env.PORT ?? ENV_VARIABLES.PORT.default)) {
    ctx.addIssue({ code: 'custom', path: ['ADMIN_PORT'], message: 'must differ from PORT (the admin listener is a second one)' });
  }
  if (set('METRICS_TOKEN') && env.METRICS_TOKEN === env.ADMIN_TOKEN) {
    ctx.addIssue({ code: 'custom', path: ['METRICS_TOKEN'], message: 'must differ from ADMIN_TOKEN (it grants less)' });
  }
  // Each worker would keep its own tenants, keys and buckets: limits would multiply and changes go missing.
  const embedded = !(['REDIS_URL', 'REDIS_HOST', 'REDIS_CLUSTER_NODES', 'REDIS_SENTINELS'] as const).some(set);
  if (embedded && env.WORKERS !== undefined && env.WORKERS !== 1) {
    ctx.addIssue({
      code: 'custom',
      path: ['WORKERS'],
      message: 'must be 1 with the embedded in-memory store (its state would split between workers): configure Redis to run more',
    });
  }
  // One source of truth: a second address would be silently ignored otherwise.
  if (!set('REDIS_SENTINELS')) {
    refuse(['REDIS_SENTINEL_NAME', 'REDIS_SENTINEL_PASSWORD'], 'is only used with REDIS_SENTINELS, which is not set');
  }
  if (set('REDIS_SENTINELS')) {
    // Named on both sides, so whichever one the operator looks for, the message names the other.
    for (const other of (['REDIS_URL', 'REDIS_HOST', 'REDIS_CLUSTER_NODES'] as const).filter(set)) {
      refuse([other], 'cannot be combined with REDIS_SENTINELS (choose one Redis topology)');
      refuse(['REDIS_SENTINELS'], `cannot be combined with ${other} (choose one Redis topology)`);
    }
    refuse(['REDIS_PORT'], 'cannot be combined with REDIS_SENTINELS (the Sentinels name the master)');
    if (!set('REDIS_SENTINEL_NAME')) {
      ctx.addIssue({ code: 'custom', path: ['REDIS_SENTINEL_NAME'], message: 'is required with REDIS_SENTINELS (the master group name)' });
    }
  } else if (set('REDIS_CLUSTER_NODES')) {
    refuse(['REDIS_URL', 'REDIS_HOST', 'REDIS_PORT', 'REDIS_DB'], 'cannot be combined with REDIS_CLUSTER_NODES (cluster mode has no single address or db)');
  } else if (set('REDIS_URL')) {
    refuse(['REDIS_HOST', 'REDIS_PORT', 'REDIS_DB'], 'cannot be combined with REDIS_URL (put host, port and db in the URL)');
    const url = env.REDIS_URL;
    if (isJsonObject(url) && url.secure === true && env.REDIS_TLS === false) {
      ctx.addIssue({ code: 'custom', path: ['REDIS_TLS'], message: 'cannot be false when REDIS_URL uses rediss:// (TLS)' });
    }
  }
}, ALWAYS);

export type EnvValues = z.output<typeof EnvSchema>;

export interface LookalikeVariable {
  variable: string;
  /** The known variable it probably meant. */
  suggestion: string;
}

/**
 * Set names that are not ours but look like one of ours (`REDIS_ULR`, `log_level`): within two edits
 * of a known name, ignoring case, and at most one edit per four characters, so short unrelated names
 * (HOME is two edits from HOST) are left alone.
 */
export function lookalikeVariables(names: Iterable<string>): LookalikeVariable[] {
  const found: LookalikeVariable[] = [];
  for (const name of names) {
    if (KNOWN_VARIABLES.includes(name)) continue;
    const suggestion = closestName(name, KNOWN_VARIABLES);
    if (suggestion === undefined) continue;
    if (editDistance(name.toLowerCase(), suggestion.toLowerCase()) * 4 > name.length) continue;
    found.push({ variable: name, suggestion });
  }
  return found;
}
