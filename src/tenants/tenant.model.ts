/** SPEC §3. The tenant types, declared by the schema (tenant.schema.ts); a Tenant is produced only by `validateTenant`. */
export type { AllowedRoute, IdpConfig, RateLimitPolicy, RouteAuth, Tenant } from './tenant.schema';
export { DEFAULT_RATE_LIMIT } from './tenant.schema';
