import * as z from 'zod';
import {
  ALWAYS,
  integer,
  isJsonObject,
  noDuplicates,
  normalise,
  problems,
  strictObject,
  typeMessages,
  validate,
} from '../config/schema';
import type { ValidationIssue } from '../errors/gateway-error';
import { algorithmProblem, copyJwk, jwkProblems, KNOWN_ALGORITHMS } from './jwk-rules';
import { routeMatchPath, routePathProblems } from './route-path';
import { canonicalJwksUri, canonicalUpstreamUrl } from './tenant-urls';

/**
 * SPEC §3, the tenant model: one declaration gives validation (every problem with its JSON path),
 * the normalised tenant (only known fields; `upstreamBaseUrl` canonical without trailing `/`, route
 * paths without trailing `/`, methods upper-cased) and the TypeScript types (tenant.model.ts).
 */

const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
const MAX_NAME_LENGTH = 200;
const MAX_WINDOW_SECONDS = 86_400 * 365;
const MAX_REQUESTS = 1_000_000_000;

/** SPEC §3 tenant id syntax; anything else can name no tenant (e.g. `byApiKey:<hash>` would reach a key mapping). */
export function isTenantId(value: string): boolean {
  return ID_PATTERN.test(value);
}

export interface TenantSchemaOptions {
  /** JWKS_ALLOW_HTTP: accept `http:` JWKS URIs on any host, not only loopback. */
  jwksAllowHttp: boolean;
}

const string = (wrongType = 'must be a string') => z.string({ error: typeMessages(wrongType) });
const flag = () => z.boolean({ error: 'must be true or false' });

const id = string().regex(ID_PATTERN, 'must be 1-64 characters of A-Z, a-z, 0-9, "_" or "-", starting with a letter or digit');

/** Tenant- or route-level `auth`. */
const authSchema = strictObject({ jwt: flag().optional() });

const methodList = `${HTTP_METHODS.join(', ')}`;
const methodsSchema = z
  .array(
    z
      .string({ error: `must be one of ${methodList}` })
      .overwrite((method) => method.toUpperCase())
      .refine((method) => HTTP_METHODS.includes(method), `must be one of ${methodList}`),
    { error: `must be a non-empty array of ${methodList}` },
  )
  .min(1, `must be a non-empty array of ${methodList}`)
  .superRefine(
    noDuplicates(
      (method) => (typeof method === 'string' && HTTP_METHODS.includes(method) ? method : undefined),
      (method) => `duplicates ${method}`,
    ),
    ALWAYS,
  );

const routeSchema = strictObject({
  path: string().superRefine(problems(routePathProblems)).transform(routeMatchPath),
  auth: authSchema.optional(),
  methods: methodsSchema.optional(),
});

/** The path a route is matched with, when it is a valid one: what duplicates are compared by. */
const routeKey = (route: unknown): string | undefined =>
  isJsonObject(route) && typeof route.path === 'string' && routePathProblems(route.path).length === 0
    ? routeMatchPath(route.path)
    : undefined;

const allowedRoutesSchema = z
  .array(routeSchema, { error: typeMessages('must be an array', 'is required (an empty list allows nothing)') })
  .superRefine(
    // Compared even when another field of a route is wrong, so the duplicate is reported too.
    noDuplicates(routeKey, (_path, first) => `duplicates allowedRoutes[${first}].path (a trailing "/" is ignored)`, ['path']),
    ALWAYS,
  );

/** A tenant's or a key's own rate limit (SPEC §3, §13). */
export const rateLimitSchema = strictObject({
  windowSeconds: integer(1, MAX_WINDOW_SECONDS),
  maxRequests: integer(1, MAX_REQUESTS),
});

/** RFC 7519 StringOrURI: any string, but one containing ":" must be a URI. */
function issuerProblem(issuer: string): string | undefined {
  if (issuer.trim() === '') return 'must be a non-empty string';
  if (issuer.includes(':') && !URL.canParse(issuer)) return 'contains ":" so must be a valid URI (RFC 7519 StringOrURI)';
  return undefined;
}

/** Inline public keys, each held to the JWK rules and copied. */
const jwksSchema = strictObject({
  keys: z
    .array(
      // Kept as written (an own `__proto__` member included) so the JWK rules see every member; not
      // aborting, so the checks of the enclosing objects still run.
      z
        .custom<Record<string, unknown>>(isJsonObject, { error: 'must be an object', abort: false })
        .superRefine(
          (key, ctx) => {
            for (const { member, message } of jwkProblems(key)) {
              ctx.addIssue({ code: 'custom', path: member === undefined ? [] : [member], message });
            }
          },
          { when: (payload) => isJsonObject(payload.value) },
        )
        .transform(copyJwk),
      { error: 'must be a non-empty array of public JWKs' },
    )
    .min(1, 'must be a non-empty array of public JWKs'),
});

const AUDIENCE = 'must be a string or a non-empty array of strings';
const audienceSchema = z.union(
  [z.string().min(1, 'must not be empty'), z.array(string('must be a non-empty string').min(1, 'must be a non-empty string')).min(1, AUDIENCE)],
  { error: AUDIENCE },
);

const ALGORITHMS = `must be a non-empty array of ${KNOWN_ALGORITHMS.join(', ')}`;
const algorithmsSchema = z
  .array(string().superRefine(problems(algorithmProblem)), { error: ALGORITHMS })
  .min(1, ALGORITHMS)
  .superRefine(
    noDuplicates(
      (alg) => (typeof alg === 'string' && algorithmProblem(alg) === undefined ? alg : undefined),
      (alg) => `duplicates ${alg}`,
    ),
    ALWAYS,
  );

function idpSchema(opts: TenantSchemaOptions) {
  return strictObject({
    issuer: string('must be a non-empty string').superRefine(problems(issuerProblem)),
    jwksUri: string()
      .transform(normalise((uri: string) => canonicalJwksUri(uri, opts.jwksAllowHttp)))
      .optional(),
    jwks: jwksSchema.optional(),
    audience: audienceSchema.optional(),
    algorithms: algorithmsSchema.optional(),
  }).superRefine((idp, ctx) => {
    if (!isJsonObject(idp)) return;
    if (idp.jwksUri === undefined && idp.jwks === undefined) {
      ctx.addIssue({ code: 'custom', message: 'must have one of jwksUri or jwks' });
    } else if (idp.jwksUri !== undefined && idp.jwks !== undefined) {
      ctx.addIssue({ code: 'custom', message: 'must have only one of jwksUri or jwks, not both' });
    }
  }, ALWAYS);
}

/** SPEC §3 default for a tenant without `rateLimit`. */
const DEFAULT_WINDOW = { windowSeconds: 60, maxRequests: 100 };

function tenantShape(opts: TenantSchemaOptions) {
  return {
    id,
    name: string().max(MAX_NAME_LENGTH, `must be at most ${MAX_NAME_LENGTH} characters`).optional(),
    upstreamBaseUrl: string().transform(normalise(canonicalUpstreamUrl)),
    allowedRoutes: allowedRoutesSchema,
    auth: authSchema.optional(),
    rateLimit: rateLimitSchema.optional().meta({ default: DEFAULT_WINDOW }),
    idp: idpSchema(opts).optional(),
    maxBodyBytes: integer(0).optional(),
    pathParameters: flag().optional(),
    disabled: flag().optional(),
  };
}

/** SPEC §3: a route that needs a JWT must have an identity provider to verify it against. */
function jwtNeedsIdp(tenant: unknown, ctx: z.core.$RefinementCtx): void {
  if (!isJsonObject(tenant) || tenant.idp !== undefined || !Array.isArray(tenant.allowedRoutes)) return;
  const jwtSetting = (auth: unknown) => (isJsonObject(auth) && typeof auth.jwt === 'boolean' ? auth.jwt : undefined);
  const tenantJwt = jwtSetting(tenant.auth);
  let inheritsTenantJwt = false;
  tenant.allowedRoutes.forEach((route: unknown, i) => {
    const routeJwt = isJsonObject(route) ? jwtSetting(route.auth) : undefined;
    if (routeJwt === true) {
      const message = 'requires a JWT, but the tenant has no idp to verify it with';
      ctx.addIssue({ code: 'custom', path: ['allowedRoutes', i, 'auth', 'jwt'], message });
    } else if (routeJwt === undefined && tenantJwt === true) {
      inheritsTenantJwt = true;
    }
  });
  if (inheritsTenantJwt) {
    const message = 'makes routes require a JWT, but the tenant has no idp to verify it with';
    ctx.addIssue({ code: 'custom', path: ['auth', 'jwt'], message });
  }
}

/**
 * The tenant object, with `extra` fields beside the tenant's own (a TENANTS_FILE entry adds its keys).
 * Cross-field rules read the partial value, so they are reported even when a field is wrong.
 */
export function tenantObjectSchema<Extra extends z.core.$ZodLooseShape>(
  opts: TenantSchemaOptions,
  extra: Extra,
  notAnObject = 'must be an object',
) {
  return strictObject({ ...tenantShape(opts), ...extra }, notAnObject).superRefine(jwtNeedsIdp, ALWAYS);
}

const buildTenantSchema = (opts: TenantSchemaOptions) => tenantObjectSchema(opts, {}, 'must be a JSON object');
const TENANT_SCHEMAS = {
  httpsOnly: buildTenantSchema({ jwksAllowHttp: false }),
  httpAllowed: buildTenantSchema({ jwksAllowHttp: true }),
};

/** The tenant schema for these options (built once each). */
export function tenantSchema(opts: TenantSchemaOptions): ReturnType<typeof buildTenantSchema> {
  return opts.jwksAllowHttp ? TENANT_SCHEMAS.httpAllowed : TENANT_SCHEMAS.httpsOnly;
}

export type Tenant = z.output<ReturnType<typeof buildTenantSchema>>;
export type RouteAuth = z.output<typeof authSchema>;
export type AllowedRoute = z.output<typeof routeSchema>;
export type RateLimitPolicy = z.output<typeof rateLimitSchema>;
export type IdpConfig = z.output<ReturnType<typeof idpSchema>>;

export const DEFAULT_RATE_LIMIT: Readonly<RateLimitPolicy> = Object.freeze(rateLimitSchema.parse(DEFAULT_WINDOW));

export type TenantValidation = { ok: true; tenant: Tenant } | { ok: false; errors: ValidationIssue[] };

/**
 * SPEC §3. Checks `input` (parsed JSON) and returns a new, normalised tenant holding only known
 * fields, or every problem found, each with a JSON path (`''` is the root).
 */
export function validateTenant(input: unknown, opts: TenantSchemaOptions): TenantValidation {
  const result = validate(tenantSchema(opts), input);
  return result.ok ? { ok: true, tenant: result.value } : result;
}

/** A PUT body may leave out the id its URL names: it is filled in before validation. */
export function withDefaultId(input: unknown, id: string): unknown {
  return isJsonObject(input) && input.id === undefined ? { ...input, id } : input;
}
