/** SPEC §3. A validated tenant; produced only by `validateTenant`. */
export interface RouteAuth {
  jwt?: boolean;
}

export interface AllowedRoute {
  path: string;
  auth?: RouteAuth;
  methods?: string[];
}

export interface RateLimitPolicy {
  windowSeconds: number;
  maxRequests: number;
}

export interface IdpConfig {
  issuer: string;
  jwksUri?: string;
  /** Inline JWK Set ({ keys: [...] }) for fixed public keys. */
  jwks?: { keys: Record<string, unknown>[] };
  audience?: string | string[];
  algorithms?: string[];
}

export interface Tenant {
  id: string;
  name?: string;
  upstreamBaseUrl: string;
  allowedRoutes: AllowedRoute[];
  auth?: RouteAuth;
  rateLimit?: RateLimitPolicy;
  idp?: IdpConfig;
  maxBodyBytes?: number;
  disabled?: boolean;
}

export const DEFAULT_RATE_LIMIT: RateLimitPolicy = Object.freeze({ windowSeconds: 60, maxRequests: 100 });
