import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { GatewayError, type ValidationIssue } from '../errors/gateway-error';
import { normalizePath } from '../policy/steps/path/path-normalizer';
import type { AllowedRoute, IdpConfig, RateLimitPolicy, RouteAuth, Tenant } from './tenant.model';
import { errorMessage } from '../errors/error-message';

/** Every JWS algorithm a tenant may allow: asymmetric ones only, so a leaked JWKS never lets anyone sign. */
export const KNOWN_ALGORITHMS: readonly string[] = Object.freeze([
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
]);

/** SPEC §3: with no `idp.algorithms`, every asymmetric algorithm is accepted. */
export const DEFAULT_ALGORITHMS: readonly string[] = KNOWN_ALGORITHMS;

export type TenantValidation = { ok: true; tenant: Tenant } | { ok: false; errors: ValidationIssue[] };

export interface ValidatorOptions {
  /** JWKS_ALLOW_HTTP: accept `http:` JWKS URIs on any host, not only loopback. */
  jwksAllowHttp: boolean;
}

type Obj = Record<string, unknown>;
type Issues = ValidationIssue[];

const TENANT_FIELDS = ['id', 'name', 'upstreamBaseUrl', 'allowedRoutes', 'auth', 'rateLimit', 'idp', 'maxBodyBytes', 'disabled'];
const ROUTE_FIELDS = ['path', 'auth', 'methods'];
const AUTH_FIELDS = ['jwt'];
const RATE_LIMIT_FIELDS = ['windowSeconds', 'maxRequests'];
const IDP_FIELDS = ['issuer', 'jwksUri', 'jwks', 'audience', 'algorithms'];
const JWKS_FIELDS = ['keys'];

const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const MAX_NAME_LENGTH = 200;
const MAX_WINDOW_SECONDS = 86_400 * 365;
const MAX_REQUESTS = 1_000_000_000;
// eslint-disable-next-line no-control-regex -- control characters are exactly what is being refused
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;
// eslint-disable-next-line no-control-regex -- as above, plus whitespace
const WHITESPACE_OR_CONTROL = /[\s\u0000-\u001f\u007f]/;

/** Smaller RSA keys are refused by the token library: a set holding one could never verify with it. */
export const MIN_RSA_BITS = 2048;

/** JWK members per key type (RFC 7517/7518/8037); private members are listed apart to name them. */
const JWK_COMMON_MEMBERS = ['kty', 'use', 'key_ops', 'alg', 'kid', 'x5u', 'x5c', 'x5t', 'x5t#S256', 'ext'];
const JWK_PUBLIC_MEMBERS: Record<string, string[]> = { RSA: ['n', 'e'], EC: ['crv', 'x', 'y'], OKP: ['crv', 'x'] };
const JWK_CURVES: Record<string, string[]> = { EC: ['P-256', 'P-384', 'P-521'], OKP: ['Ed25519', 'Ed448'] };
const JWK_PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

/**
 * SPEC §3. Checks `input` (parsed JSON) against the tenant model and returns a new, normalised
 * tenant holding only known fields, or every problem found, each with a JSON path (`''` is the root).
 * Normalisation: `upstreamBaseUrl` is in canonical URL form without trailing `/` (so the upstream
 * URL is prefix + request path), route paths lose a trailing `/` (SPEC: it is ignored) and
 * `methods` are upper-cased.
 */
export function validateTenant(input: unknown, opts: ValidatorOptions): TenantValidation {
  if (!isObject(input)) return { ok: false, errors: [{ path: '', message: 'must be a JSON object' }] };
  const errors: Issues = [];

  const id = checkId(field(input, 'id'), errors);
  const name = optional(input, 'name', (v) => checkName(v, errors));
  const upstreamBaseUrl = checkUpstreamBaseUrl(field(input, 'upstreamBaseUrl'), errors);
  const allowedRoutes = checkRoutes(field(input, 'allowedRoutes'), errors);
  const auth = optional(input, 'auth', (v) => checkAuth(v, 'auth', errors));
  const rateLimit = optional(input, 'rateLimit', (v) => checkRateLimit(v, errors));
  const idp = optional(input, 'idp', (v) => checkIdp(v, opts, errors));
  const maxBodyBytes = optional(input, 'maxBodyBytes', (v) =>
    checkInteger(v, 'maxBodyBytes', 0, Number.MAX_SAFE_INTEGER, errors),
  );
  const disabled = optional(input, 'disabled', (v) => checkBoolean(v, 'disabled', errors));
  reportUnknownFields(input, TENANT_FIELDS, '', errors);
  checkJwtHasIdp(input, errors);

  if (errors.length > 0 || id === undefined || upstreamBaseUrl === undefined || allowedRoutes === undefined) {
    return { ok: false, errors };
  }
  const tenant: Tenant = { id, upstreamBaseUrl, allowedRoutes };
  if (name !== undefined) tenant.name = name;
  if (auth !== undefined) tenant.auth = auth;
  if (rateLimit !== undefined) tenant.rateLimit = rateLimit;
  if (idp !== undefined) tenant.idp = idp;
  if (maxBodyBytes !== undefined) tenant.maxBodyBytes = maxBodyBytes;
  if (disabled !== undefined) tenant.disabled = disabled;
  return { ok: true, tenant };
}

/** SPEC §3 tenant id syntax; anything else can name no tenant (e.g. `byApiKey:<hash>` would reach a key mapping). */
export function isTenantId(value: string): boolean {
  return ID_PATTERN.test(value);
}

// ---------------------------------------------------------------------------------------------
// Top-level fields

function checkId(value: unknown, errors: Issues): string | undefined {
  if (value === undefined) return issue(errors, 'id', 'is required');
  if (typeof value !== 'string') return issue(errors, 'id', 'must be a string');
  if (!ID_PATTERN.test(value)) {
    return issue(errors, 'id', 'must be 1-64 characters of A-Z, a-z, 0-9, "_" or "-", starting with a letter or digit');
  }
  return value;
}

function checkName(value: unknown, errors: Issues): string | undefined {
  if (typeof value !== 'string') return issue(errors, 'name', 'must be a string');
  if (value.length > MAX_NAME_LENGTH) return issue(errors, 'name', `must be at most ${MAX_NAME_LENGTH} characters`);
  return value;
}

function checkUpstreamBaseUrl(value: unknown, errors: Issues): string | undefined {
  const path = 'upstreamBaseUrl';
  if (value === undefined) return issue(errors, path, 'is required');
  if (typeof value !== 'string') return issue(errors, path, 'must be a string');
  const url = parseHttpUrl(value, path, errors);
  if (url === undefined) return undefined;
  // Checked on the raw text: the URL parser drops an empty `?` or `#`.
  if (value.includes('?')) return issue(errors, path, 'must not contain a query string');
  if (value.includes('#')) return issue(errors, path, 'must not contain a fragment');
  if (url.username !== '' || url.password !== '') return issue(errors, path, 'must not contain credentials');
  return url.origin + url.pathname.replace(/\/+$/, '');
}

function checkRateLimit(value: unknown, errors: Issues): RateLimitPolicy | undefined {
  const obj = expectObject(value, 'rateLimit', errors);
  if (obj === undefined) return undefined;
  const windowSeconds = required(obj, 'windowSeconds', 'rateLimit', errors, (v, p) =>
    checkInteger(v, p, 1, MAX_WINDOW_SECONDS, errors),
  );
  const maxRequests = required(obj, 'maxRequests', 'rateLimit', errors, (v, p) =>
    checkInteger(v, p, 1, MAX_REQUESTS, errors),
  );
  reportUnknownFields(obj, RATE_LIMIT_FIELDS, 'rateLimit', errors);
  if (windowSeconds === undefined || maxRequests === undefined) return undefined;
  return { windowSeconds, maxRequests };
}

/** Tenant- or route-level `auth`. */
function checkAuth(value: unknown, path: string, errors: Issues): RouteAuth | undefined {
  const obj = expectObject(value, path, errors);
  if (obj === undefined) return undefined;
  const jwt = optional(obj, 'jwt', (v) => checkBoolean(v, join(path, 'jwt'), errors));
  reportUnknownFields(obj, AUTH_FIELDS, path, errors);
  return jwt === undefined ? {} : { jwt };
}

/** SPEC §3: a route that needs a JWT must have an identity provider to verify it against. */
function checkJwtHasIdp(input: Obj, errors: Issues): void {
  if (field(input, 'idp') !== undefined) return;
  const routes = field(input, 'allowedRoutes');
  if (!Array.isArray(routes)) return;
  const tenantJwt = jwtSetting(field(input, 'auth'));
  let inheritsTenantJwt = false;
  routes.forEach((route: unknown, i) => {
    const routeJwt = isObject(route) ? jwtSetting(field(route, 'auth')) : undefined;
    if (routeJwt === true) {
      issue(errors, `allowedRoutes[${i}].auth.jwt`, 'requires a JWT, but the tenant has no idp to verify it with');
    } else if (routeJwt === undefined && tenantJwt === true) {
      inheritsTenantJwt = true;
    }
  });
  if (inheritsTenantJwt) {
    issue(errors, 'auth.jwt', 'makes routes require a JWT, but the tenant has no idp to verify it with');
  }
}

function jwtSetting(auth: unknown): boolean | undefined {
  const jwt = isObject(auth) ? field(auth, 'jwt') : undefined;
  return typeof jwt === 'boolean' ? jwt : undefined;
}

// ---------------------------------------------------------------------------------------------
// allowedRoutes

function checkRoutes(value: unknown, errors: Issues): AllowedRoute[] | undefined {
  if (value === undefined) return issue(errors, 'allowedRoutes', 'is required (an empty list allows nothing)');
  if (!Array.isArray(value)) return issue(errors, 'allowedRoutes', 'must be an array');
  const routes: AllowedRoute[] = [];
  const seen = new Map<string, number>();
  value.forEach((raw: unknown, i) => {
    const base = `allowedRoutes[${i}]`;
    const { path, route } = checkRoute(raw, base, errors);
    if (route !== undefined) routes.push(route);
    if (path === undefined) return;
    // Compared even when another field of the route is wrong, so the duplicate is reported too.
    const first = seen.get(path);
    if (first !== undefined) issue(errors, `${base}.path`, `duplicates allowedRoutes[${first}].path (a trailing "/" is ignored)`);
    else seen.set(path, i);
  });
  return routes.length === value.length ? routes : undefined;
}

/** The route if entirely valid, and its normalised path whenever the path itself is valid. */
function checkRoute(value: unknown, base: string, errors: Issues): { path?: string; route?: AllowedRoute } {
  const obj = expectObject(value, base, errors);
  if (obj === undefined) return {};
  const before = errors.length;
  const path = required(obj, 'path', base, errors, (v, p) => checkRoutePath(v, p, errors));
  const auth = optional(obj, 'auth', (v) => checkAuth(v, `${base}.auth`, errors));
  const methods = optional(obj, 'methods', (v) => checkMethods(v, `${base}.methods`, errors));
  reportUnknownFields(obj, ROUTE_FIELDS, base, errors);
  if (path === undefined || errors.length > before) return { path };
  const route: AllowedRoute = { path };
  if (auth !== undefined) route.auth = auth;
  if (methods !== undefined) route.methods = methods;
  return { path, route };
}

/**
 * Routes are compared with normalized request paths (SPEC §5.1), so a route that normalization
 * would change or refuse could never match as written: it is refused here rather than at match time.
 * Returns the path without its trailing `/`.
 */
function checkRoutePath(value: unknown, path: string, errors: Issues): string | undefined {
  if (typeof value !== 'string') return issue(errors, path, 'must be a string');
  const problems = routePathProblems(value);
  if (problems.length > 0) {
    for (const message of problems) issue(errors, path, message);
    return undefined;
  }
  try {
    normalizePath(value);
  } catch (err) {
    const detail = err instanceof GatewayError ? err.detail : String(err);
    return issue(errors, path, `can never match a normalized request path: ${detail}`);
  }
  return value === '/' ? value : value.replace(/\/$/, '');
}

function routePathProblems(value: string): string[] {
  const problems: string[] = [];
  if (!value.startsWith('/')) problems.push('must start with "/"');
  if (value.includes('?') || value.includes('#')) problems.push('must not contain a query or fragment ("?" or "#")');
  if (value.includes('%')) problems.push('must not contain "%": write the path decoded, as requests are matched after normalization');
  if (value.includes('\\')) problems.push('must not contain "\\"');
  if (CONTROL_CHARS.test(value)) problems.push('must not contain control characters');
  // Non-ASCII reaches the gateway percent-encoded, and "%" is refused above.
  if (/[\u0080-\uffff]/.test(value)) problems.push('must contain only ASCII characters');
  if (value.includes('//')) problems.push('must not contain "//": repeated slashes are merged before matching');
  if (value.split('/').some((s) => s === '.' || s === '..')) {
    problems.push('must not contain "." or ".." segments: they are resolved before matching');
  }
  return problems;
}

function checkMethods(value: unknown, path: string, errors: Issues): string[] | undefined {
  if (!Array.isArray(value) || value.length === 0) {
    return issue(errors, path, `must be a non-empty array of ${HTTP_METHODS.join(', ')}`);
  }
  const methods: string[] = [];
  let valid = true;
  value.forEach((raw: unknown, i) => {
    const method = typeof raw === 'string' ? raw.toUpperCase() : undefined;
    if (method === undefined || !HTTP_METHODS.includes(method)) {
      valid = false;
      issue(errors, `${path}[${i}]`, `must be one of ${HTTP_METHODS.join(', ')}`);
    } else if (methods.includes(method)) {
      valid = false;
      issue(errors, `${path}[${i}]`, `duplicates ${method}`);
    } else {
      methods.push(method);
    }
  });
  return valid ? methods : undefined;
}

// ---------------------------------------------------------------------------------------------
// idp

function checkIdp(value: unknown, opts: ValidatorOptions, errors: Issues): IdpConfig | undefined {
  const obj = expectObject(value, 'idp', errors);
  if (obj === undefined) return undefined;
  const before = errors.length;
  const issuer = required(obj, 'issuer', 'idp', errors, (v, p) => checkIssuer(v, p, errors));
  const jwksUri = optional(obj, 'jwksUri', (v) => checkJwksUri(v, opts, errors));
  const jwks = optional(obj, 'jwks', (v) => checkJwks(v, errors));
  if (field(obj, 'jwksUri') === undefined && field(obj, 'jwks') === undefined) {
    issue(errors, 'idp', 'must have one of jwksUri or jwks');
  } else if (field(obj, 'jwksUri') !== undefined && field(obj, 'jwks') !== undefined) {
    issue(errors, 'idp', 'must have only one of jwksUri or jwks, not both');
  }
  const audience = optional(obj, 'audience', (v) => checkAudience(v, errors));
  const algorithms = optional(obj, 'algorithms', (v) => checkAlgorithms(v, errors));
  reportUnknownFields(obj, IDP_FIELDS, 'idp', errors);
  if (errors.length > before || issuer === undefined) return undefined;

  const idp: IdpConfig = { issuer };
  if (jwksUri !== undefined) idp.jwksUri = jwksUri;
  if (jwks !== undefined) idp.jwks = jwks;
  if (audience !== undefined) idp.audience = audience;
  if (algorithms !== undefined) idp.algorithms = algorithms;
  return idp;
}

/** RFC 7519 StringOrURI: any string, but one containing ":" must be a URI. */
function checkIssuer(value: unknown, path: string, errors: Issues): string | undefined {
  if (typeof value !== 'string' || value.trim() === '') return issue(errors, path, 'must be a non-empty string');
  if (value.includes(':') && !URL.canParse(value)) {
    return issue(errors, path, 'contains ":" so must be a valid URI (RFC 7519 StringOrURI)');
  }
  return value;
}

function checkJwksUri(value: unknown, opts: ValidatorOptions, errors: Issues): string | undefined {
  const path = 'idp.jwksUri';
  if (typeof value !== 'string') return issue(errors, path, 'must be a string');
  const url = parseHttpUrl(value, path, errors);
  if (url === undefined) return undefined;
  if (url.username !== '' || url.password !== '') return issue(errors, path, 'must not contain credentials');
  if (url.hash !== '') return issue(errors, path, 'must not contain a fragment');
  // Keys fetched over plain HTTP could be swapped in transit, letting anyone mint accepted tokens.
  if (url.protocol === 'http:' && !opts.jwksAllowHttp && !isLoopbackHost(url.hostname)) {
    return issue(errors, path, 'must use https: (http: only for a loopback host, or with JWKS_ALLOW_HTTP=true)');
  }
  return url.href;
}

function isLoopbackHost(hostname: string): boolean {
  // The URL parser has already canonicalised IPv4 (`127.1` -> `127.0.0.1`) and IPv6 forms.
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

function checkJwks(value: unknown, errors: Issues): { keys: Record<string, unknown>[] } | undefined {
  const obj = expectObject(value, 'idp.jwks', errors);
  if (obj === undefined) return undefined;
  reportUnknownFields(obj, JWKS_FIELDS, 'idp.jwks', errors);
  const keys = field(obj, 'keys');
  if (!Array.isArray(keys) || keys.length === 0) {
    return issue(errors, 'idp.jwks.keys', 'must be a non-empty array of public JWKs');
  }
  const checked = keys.map((key: unknown, i) => checkJwk(key, `idp.jwks.keys[${i}]`, errors));
  const valid = checked.filter((key): key is Record<string, unknown> => key !== undefined);
  return valid.length === keys.length ? { keys: valid } : undefined;
}

function checkJwk(value: unknown, path: string, errors: Issues): Record<string, unknown> | undefined {
  const key = expectObject(value, path, errors);
  if (key === undefined) return undefined;
  const before = errors.length;
  const kty = field(key, 'kty');
  if (kty === 'oct') {
    issue(errors, `${path}.kty`, 'symmetric ("oct") keys are refused: only public keys (RSA, EC, OKP) are allowed');
  } else if (typeof kty !== 'string' || !Object.hasOwn(JWK_PUBLIC_MEMBERS, kty)) {
    issue(errors, `${path}.kty`, 'must be one of RSA, EC, OKP');
  }
  // Without a usable kty the other members cannot be judged, except private ones.
  const typeMembers = typeof kty === 'string' && Object.hasOwn(JWK_PUBLIC_MEMBERS, kty) ? JWK_PUBLIC_MEMBERS[kty] : undefined;
  for (const member of Object.keys(key)) {
    if (JWK_PRIVATE_MEMBERS.includes(member)) {
      issue(errors, `${path}.${member}`, 'is private key material: only public keys are allowed');
    } else if (typeMembers === undefined || member === 'kty') {
      continue;
    } else if (!JWK_COMMON_MEMBERS.includes(member) && !typeMembers.includes(member)) {
      issue(errors, `${path}.${member}`, `unknown field for a ${String(kty)} key`);
    } else {
      checkJwkMember(key, member, path, errors);
    }
  }
  for (const member of typeMembers ?? []) {
    if (field(key, member) === undefined) issue(errors, `${path}.${member}`, `is required for a ${String(kty)} key`);
  }
  const curves = typeof kty === 'string' && Object.hasOwn(JWK_CURVES, kty) ? JWK_CURVES[kty] : undefined;
  const crv = field(key, 'crv');
  if (curves !== undefined && typeof crv === 'string' && !curves.includes(crv)) {
    issue(errors, `${path}.crv`, `must be one of ${curves.join(', ')}`);
  }
  if (errors.length === before) checkJwkUsable(key, path, errors);
  if (errors.length > before) return undefined;
  return copyJwk(key);
}

/** Key type and curve each JWS algorithm needs (RFC 7518 §3, RFC 8037). */
function algorithmFits(alg: string, kty: unknown, crv: unknown): boolean {
  if (/^(RS|PS)\d+$/.test(alg)) return kty === 'RSA';
  if (alg === 'ES256') return kty === 'EC' && crv === 'P-256';
  if (alg === 'ES384') return kty === 'EC' && crv === 'P-384';
  if (alg === 'ES512') return kty === 'EC' && crv === 'P-521';
  if (alg === 'EdDSA') return kty === 'OKP';
  return true;
}

/** A key that could never verify a token is a mistake to report now, not a 401 for every client later. */
function checkJwkUsable(key: Obj, path: string, errors: Issues): void {
  const alg = field(key, 'alg');
  if (typeof alg === 'string' && !algorithmFits(alg, field(key, 'kty'), field(key, 'crv'))) {
    issue(errors, `${path}.alg`, `${alg} cannot be used with this key type or curve`);
  }
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey({ key: key as JsonWebKey, format: 'jwk' });
  } catch (err) {
    issue(errors, path, `is not a usable public key (${errorMessage(err)})`);
    return;
  }
  const bits = publicKey.asymmetricKeyDetails?.modulusLength;
  if (field(key, 'kty') === 'RSA' && bits !== undefined && bits < MIN_RSA_BITS) {
    issue(errors, path, `is a ${bits}-bit RSA key: at least ${MIN_RSA_BITS} bits are required`);
  }
}

/** Types per RFC 7517 §4; a key meant for encryption could never verify a signature. */
function checkJwkMember(key: Obj, member: string, path: string, errors: Issues): void {
  const value = field(key, member);
  const at = `${path}.${member}`;
  if (member === 'key_ops' || member === 'x5c') {
    if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) issue(errors, at, 'must be an array of strings');
  } else if (member === 'ext') {
    if (typeof value !== 'boolean') issue(errors, at, 'must be a boolean');
  } else if (typeof value !== 'string' || value === '') {
    issue(errors, at, 'must be a non-empty string');
  } else if (member === 'use' && value !== 'sig') {
    issue(errors, at, 'must be "sig": the key verifies token signatures');
  } else if (member === 'alg') {
    const problem = algorithmProblem(value);
    if (problem !== undefined) issue(errors, at, problem);
  }
}

/** Members are strings, booleans or string arrays once checked, so this is a deep copy. */
function copyJwk(key: Obj): Record<string, unknown> {
  const copy: Record<string, unknown> = {};
  for (const member of Object.keys(key)) {
    const value = key[member];
    copy[member] = Array.isArray(value) ? [...(value as unknown[])] : value;
  }
  return copy;
}

function checkAudience(value: unknown, errors: Issues): string | string[] | undefined {
  const path = 'idp.audience';
  if (typeof value === 'string') return value === '' ? issue(errors, path, 'must not be empty') : value;
  if (!Array.isArray(value) || value.length === 0) {
    return issue(errors, path, 'must be a string or a non-empty array of strings');
  }
  let valid = true;
  value.forEach((aud: unknown, i) => {
    if (typeof aud !== 'string' || aud === '') {
      valid = false;
      issue(errors, `${path}[${i}]`, 'must be a non-empty string');
    }
  });
  return valid ? [...(value as string[])] : undefined;
}

function checkAlgorithms(value: unknown, errors: Issues): string[] | undefined {
  const path = 'idp.algorithms';
  if (!Array.isArray(value) || value.length === 0) {
    return issue(errors, path, `must be a non-empty array of ${KNOWN_ALGORITHMS.join(', ')}`);
  }
  const algorithms: string[] = [];
  let valid = true;
  value.forEach((alg: unknown, i) => {
    const problem = algorithmProblem(alg);
    if (problem === undefined && typeof alg === 'string' && !algorithms.includes(alg)) {
      algorithms.push(alg);
      return;
    }
    valid = false;
    issue(errors, `${path}[${i}]`, problem ?? `duplicates ${String(alg)}`);
  });
  return valid ? algorithms : undefined;
}

/** JWS names are case-sensitive; `none` and HMAC get their own message since they are common mistakes. */
function algorithmProblem(alg: unknown): string | undefined {
  if (typeof alg !== 'string') return 'must be a string';
  if (alg.toLowerCase() === 'none') return '"none" is refused: tokens must be signed';
  if (/^HS\d+$/i.test(alg)) {
    return `${alg} is refused: HMAC algorithms need a shared secret, only public-key algorithms are allowed`;
  }
  if (!KNOWN_ALGORITHMS.includes(alg)) return `must be one of ${KNOWN_ALGORITHMS.join(', ')}`;
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Shared helpers

/** A JSON object: not null, not an array. */
export function isObject(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Own properties only, so `constructor` or `__proto__` are never read as configuration. */
function field(obj: Obj, key: string): unknown {
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}

function join(base: string, key: string): string {
  return base === '' ? key : `${base}.${key}`;
}

/** Records a problem; returns undefined so a checker can `return issue(...)`. */
function issue(errors: Issues, path: string, message: string): undefined {
  errors.push({ path, message });
  return undefined;
}

function optional<T>(obj: Obj, key: string, check: (value: unknown) => T | undefined): T | undefined {
  const value = field(obj, key);
  return value === undefined ? undefined : check(value);
}

function required<T>(
  obj: Obj,
  key: string,
  base: string,
  errors: Issues,
  check: (value: unknown, path: string) => T | undefined,
): T | undefined {
  const path = join(base, key);
  const value = field(obj, key);
  return value === undefined ? issue(errors, path, 'is required') : check(value, path);
}

function expectObject(value: unknown, path: string, errors: Issues): Obj | undefined {
  return isObject(value) ? value : issue(errors, path, 'must be an object');
}

function checkBoolean(value: unknown, path: string, errors: Issues): boolean | undefined {
  return typeof value === 'boolean' ? value : issue(errors, path, 'must be true or false');
}

function checkInteger(value: unknown, path: string, min: number, max: number, errors: Issues): number | undefined {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `between ${min} and ${max}`;
    return issue(errors, path, `must be an integer ${range}`);
  }
  return value;
}

/** An absolute `http:`/`https:` URL, written out (the URL parser would accept `http:host`). */
function parseHttpUrl(value: string, path: string, errors: Issues): URL | undefined {
  if (WHITESPACE_OR_CONTROL.test(value)) return issue(errors, path, 'must not contain whitespace or control characters');
  if (!/^https?:\/\//i.test(value) || !URL.canParse(value)) {
    return issue(errors, path, 'must be an absolute http: or https: URL');
  }
  return new URL(value);
}

/** Unknown fields are errors so that a typo (`allowedRoute`, `jwt_`) never silently weakens policy. */
function reportUnknownFields(obj: Obj, known: readonly string[], base: string, errors: Issues): void {
  for (const key of Object.keys(obj)) {
    if (known.includes(key)) continue;
    const suggestion = closestField(key, known);
    issue(errors, join(base, key), suggestion ? `unknown field (did you mean "${suggestion}"?)` : 'unknown field');
  }
}

/** The known field within two edits of `key` (ignoring case), to point out a likely typo. */
function closestField(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of known) {
    const distance = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j] + 1, current[j - 1] + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length];
}
