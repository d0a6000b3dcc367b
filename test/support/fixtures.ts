import type { RedisConfig } from '../../src/config/config.types';

/** The SPEC §3 example tenant, verbatim; `overrides` replace top-level fields (id, upstreamBaseUrl, …). */
export function specExampleTenant<T extends Record<string, unknown>>(overrides: T = {} as T) {
  const example = {
    id: 'acme',
    name: 'ACME Corp',
    upstreamBaseUrl: 'https://api.acme.internal/base',
    allowedRoutes: [
      { path: '/v1/users', auth: { jwt: true }, methods: ['GET', 'POST'] },
      { path: '/v1/products', auth: { jwt: false } },
      { path: '/v2/admin' },
    ],
    auth: { jwt: false },
    rateLimit: { windowSeconds: 60, maxRequests: 1000 },
    idp: {
      issuer: 'https://auth.acme.com',
      jwksUri: 'https://auth.acme.com/.well-known/jwks.json',
      audience: 'api.acme.com',
      algorithms: ['RS256', 'ES256'],
    },
    disabled: false,
  };
  return { ...example, ...overrides };
}

/** The store configuration for a plain redis-server on 127.0.0.1 (what REDIS_URL alone would give). */
export function singleRedisConfig(redis: { url: string; port: number }): RedisConfig {
  return {
    mode: 'single',
    url: redis.url,
    host: '127.0.0.1',
    port: redis.port,
    password: null,
    db: 0,
    tls: { enabled: false, rejectUnauthorized: true },
  };
}
