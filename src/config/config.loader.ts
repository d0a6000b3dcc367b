import { existsSync, readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import type { GatewayConfig, LogLevel, RedisConfig } from './config.types';
import { ENV_VARIABLES, EnvSchema, lookalikeVariables, type EnvName, type EnvValues } from './env.schema';
import { validate } from './schema';

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

/** The gateway's variables that are set; empty strings count as unset so `VAR=` in a .env file falls back to the default. */
function setVariables(env: Env): Partial<Record<EnvName, string>> {
  const set: Partial<Record<EnvName, string>> = {};
  for (const name of Object.keys(ENV_VARIABLES) as EnvName[]) {
    const value = env[name];
    if (value !== undefined && value !== '') set[name] = value;
  }
  return set;
}

/**
 * Builds the gateway configuration from an environment map (SPEC §9, declared in env.schema.ts).
 * Pure: reads only `env`. Throws ConfigError listing every invalid variable; never echoes secret values.
 */
export function loadConfig(env: Env): Readonly<GatewayConfig> {
  const result = validate(EnvSchema, setVariables(env));
  if (!result.ok) throw new ConfigError(result.errors.map((e) => ({ variable: e.path, message: e.message })));
  return deepFreeze(toGatewayConfig(result.value));
}

/** LOG_LEVEL when it is valid, else the default: the level to log with before the configuration is known. */
export function logLevelOf(env: Env): LogLevel {
  const value = setVariables(env).LOG_LEVEL;
  const parsed = value === undefined ? undefined : ENV_VARIABLES.LOG_LEVEL.schema.safeParse(value);
  return parsed?.success ? parsed.data : ENV_VARIABLES.LOG_LEVEL.default;
}

export interface ConfigWarning {
  variable: string;
  /** The variable it probably meant. */
  suggestion: string;
  message: string;
}

/** SPEC §9: set variables that look like one of ours but are not (`REDIS_ULR`), each with the name it probably meant. */
export function configWarnings(env: Env): ConfigWarning[] {
  const set = Object.keys(env).filter((name) => env[name] !== undefined && env[name] !== '');
  return lookalikeVariables(set).map(({ variable, suggestion }) => ({
    variable,
    suggestion,
    message: `${variable} is not a variable the gateway reads: did you mean ${suggestion}?`,
  }));
}

/** Each variable's value, its default where it is unset. */
type Resolved = { [K in EnvName]: NonNullable<EnvValues[K]> | (typeof ENV_VARIABLES)[K]['default'] };

function withDefaults(env: EnvValues): Resolved {
  const resolved: Record<string, unknown> = {};
  for (const name of Object.keys(ENV_VARIABLES) as EnvName[]) resolved[name] = env[name] ?? ENV_VARIABLES[name].default;
  return resolved as Resolved;
}

function toGatewayConfig(env: EnvValues): GatewayConfig {
  const v = withDefaults(env);
  return {
    port: v.PORT,
    host: v.HOST,
    redis: toRedisConfig(v),
    logLevel: v.LOG_LEVEL,
    adminToken: v.ADMIN_TOKEN,
    corsOrigins: v.CORS_ORIGINS,
    corsAllowedHeaders: v.CORS_ALLOWED_HEADERS,
    corsMaxAge: v.CORS_MAX_AGE,
    tenantCacheTtlMs: v.TENANT_CACHE_TTL_MS,
    tenantsFile: v.TENANTS_FILE,
    upstreamTimeoutMs: v.UPSTREAM_TIMEOUT_MS,
    maxBodyBytes: v.MAX_BODY_BYTES,
    rateLimitFailureMode: v.RATE_LIMIT_FAILURE_MODE,
    jwtClockToleranceS: v.JWT_CLOCK_TOLERANCE_S,
    jwtCacheSize: v.JWT_CACHE_SIZE,
    jwksAllowHttp: v.JWKS_ALLOW_HTTP,
    trustProxy: v.TRUST_PROXY,
    allowUnderscoreHeaders: v.ALLOW_UNDERSCORE_HEADERS,
    shutdownGraceMs: v.SHUTDOWN_GRACE_MS,
    auditMaxEntries: v.AUDIT_MAX_ENTRIES,
    adminPort: v.ADMIN_PORT,
    adminHost: v.ADMIN_HOST,
    metricsToken: v.METRICS_TOKEN,
    shutdownDelayMs: v.SHUTDOWN_DELAY_MS,
    workers: v.WORKERS,
  };
}

/** At most one Redis form is set (EnvSchema checks it); none is the embedded in-memory store. */
function toRedisConfig(v: Resolved): RedisConfig | null {
  const password = v.REDIS_PASSWORD;
  const tls = { enabled: v.REDIS_TLS, rejectUnauthorized: v.REDIS_TLS_REJECT_UNAUTHORIZED };
  if (v.REDIS_SENTINELS !== null) {
    const name = v.REDIS_SENTINEL_NAME ?? '';
    return { mode: 'sentinel', sentinels: v.REDIS_SENTINELS, name, sentinelPassword: v.REDIS_SENTINEL_PASSWORD, password, db: v.REDIS_DB, tls };
  }
  if (v.REDIS_CLUSTER_NODES !== null) return { mode: 'cluster', nodes: v.REDIS_CLUSTER_NODES, password, tls };
  if (v.REDIS_URL !== null) {
    const { url, host, port, db, secure } = v.REDIS_URL;
    // REDIS_PASSWORD wins so the secret can live outside the URL.
    return { mode: 'single', url, host, port, password: password ?? v.REDIS_URL.password, db, tls: { ...tls, enabled: tls.enabled || secure } };
  }
  if (v.REDIS_HOST === null) return null;
  return { mode: 'single', url: null, host: v.REDIS_HOST, port: v.REDIS_PORT, password, db: v.REDIS_DB, tls };
}

function deepFreeze<T>(value: T): Readonly<T> {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
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
