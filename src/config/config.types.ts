/** The frozen, typed configuration built once at start from the environment (SPEC §9). */
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface RedisTlsOptions {
  enabled: boolean;
  rejectUnauthorized: boolean;
}

export type RedisConfig =
  | {
      mode: 'single';
      /** REDIS_URL when given; otherwise host/port/password/db. */
      url: string | null;
      host: string;
      port: number;
      password: string | null;
      db: number;
      tls: RedisTlsOptions;
    }
  | {
      /** SPEC §11: the master of `name`, as the Sentinels say; followed through failovers. */
      mode: 'sentinel';
      sentinels: { host: string; port: number }[];
      name: string;
      sentinelPassword: string | null;
      /** The data nodes' password and database. */
      password: string | null;
      db: number;
      tls: RedisTlsOptions;
    }
  | {
      mode: 'cluster';
      nodes: { host: string; port: number }[];
      password: string | null;
      tls: RedisTlsOptions;
    };

export interface GatewayConfig {
  port: number;
  host: string;
  /** null = embedded in-memory store (no REDIS_URL / REDIS_HOST / REDIS_CLUSTER_NODES / REDIS_SENTINELS). */
  redis: RedisConfig | null;
  logLevel: LogLevel;
  /** null = generate a random token at start and log it once. */
  adminToken: string | null;
  /** null = no CORS headers; '*' = any origin without credentials; list = exact origins. */
  corsOrigins: '*' | string[] | null;
  /** Request headers a preflight allows beyond the built-in list; '*' = those the preflight asks for. */
  corsAllowedHeaders: '*' | string[];
  /** Access-Control-Max-Age of a preflight answer, in seconds. */
  corsMaxAge: number;
  tenantCacheTtlMs: number;
  tenantsFile: string | null;
  upstreamTimeoutMs: number;
  maxBodyBytes: number;
  rateLimitFailureMode: 'open' | 'closed';
  jwtClockToleranceS: number;
  /** Verified-token cache entries (SPEC §5 step 4); 0 turns the cache off. */
  jwtCacheSize: number;
  jwksAllowHttp: boolean;
  /** Express "trust proxy" value: false, true, a hop count, or a comma list of addresses/subnets. */
  trustProxy: boolean | number | string;
  /** ALLOW_UNDERSCORE_HEADERS: request header names with `_` are forwarded (SPEC §18). */
  allowUnderscoreHeaders: boolean;
  shutdownGraceMs: number;
  /** SPEC §14: audit entries kept; the oldest are trimmed first. */
  auditMaxEntries: number;
  /** SPEC §17: a separate control-plane listener (null: one listener serves everything). */
  adminPort: number | null;
  adminHost: string;
  /** SPEC §17: a scrape-only token for /metrics (null: none). */
  metricsToken: string | null;
  /** SPEC §11: worker processes sharing the port; `auto` = one per CPU available. 1 = no primary, this process serves. */
  workers: number | 'auto';
  /** SPEC §11: after SIGTERM, /readyz says 503 but requests are served this long before the listener closes. */
  shutdownDelayMs: number;
}

export const GATEWAY_CONFIG = Symbol('GATEWAY_CONFIG');
