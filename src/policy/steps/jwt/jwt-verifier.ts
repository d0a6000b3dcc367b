import { Inject, Injectable, Optional } from '@nestjs/common';
import { createLocalJWKSet, errors, jwtVerify, type CryptoKey, type JWTPayload, type JWTVerifyOptions } from 'jose';
import { GATEWAY_CONFIG, type GatewayConfig } from '../../../config/config.types';
import { GatewayError, invalidJwt, jwksUnavailable, missingJwt, tenantMisconfigured } from '../../../errors/gateway-error';
import type { IdpConfig, Tenant } from '../../../tenants/tenant.model';
import { DEFAULT_ALGORITHMS, KNOWN_ALGORITHMS, MIN_RSA_BITS } from '../../../tenants/jwk-rules';
import { JwksCache, JwksUnavailableError, type KeyResolver } from './jwks-cache';
import { keyThumbprint, setThumbprints } from './jwk-thumbprint';
import { VerifiedTokenCache, type VerifiedToken } from './verified-token-cache';

export interface VerifiedJwt {
  /** The token's `sub`, forwarded upstream as X-Auth-Subject; undefined when the token has none. */
  subject: string | undefined;
}

/** RFC 6750 §2.1; the scheme is case-insensitive (RFC 9110 §11.1). */
const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;
/** What Node accepts in a header value, minus tab and obs-text: a `sub` outside it cannot be forwarded. */
const HEADER_SAFE = /^[\x20-\x7e]*$/;

/** SPEC §9's default for JWT_CACHE_SIZE. */
export const DEFAULT_JWT_CACHE_SIZE = 10_000;

/** Injection token of the verifier's clock (epoch ms), for tests that move time; Date.now otherwise. */
export const JWT_VERIFIER_CLOCK = Symbol('JWT_VERIFIER_CLOCK');

/** Per identity-provider object: its verify options and, for inline keys, its key set, built once. */
interface Prepared {
  options: JWTVerifyOptions;
  inlineKeys: KeyResolver | undefined;
  inlineThumbprints: ReadonlySet<string> | undefined;
  /** The idp's settings, serialised: a cached verification is reused only under equal settings. */
  fingerprint: string;
}

/** A successful signature and claims check, with the key that proved it. */
interface Verified {
  payload: JWTPayload;
  key: unknown;
}

/**
 * SPEC §5 step 4: verifies a bearer token against a tenant's identity provider. Takes the tenant and
 * the Authorization header only, so the data plane and the explain endpoint share it. Throws
 * missing_jwt, invalid_jwt (the detail is jose's reason, never the token) or jwks_unavailable.
 */
@Injectable()
export class JwtVerifier {
  private readonly prepared = new WeakMap<IdpConfig, Prepared>();
  private readonly clockToleranceS: number;
  private readonly verified: VerifiedTokenCache;
  private readonly now: () => number;

  constructor(
    @Inject(JwksCache) private readonly jwks: JwksCache,
    @Inject(GATEWAY_CONFIG) config: Pick<GatewayConfig, 'jwtClockToleranceS'> & Partial<Pick<GatewayConfig, 'jwtCacheSize'>>,
    @Optional() @Inject(JWT_VERIFIER_CLOCK) now?: () => number,
  ) {
    this.clockToleranceS = config.jwtClockToleranceS;
    this.verified = new VerifiedTokenCache(config.jwtCacheSize ?? DEFAULT_JWT_CACHE_SIZE);
    this.now = now ?? Date.now;
  }

  async verify(tenant: Tenant, authorization: string | undefined): Promise<VerifiedJwt> {
    return this.check(tenant, authorization);
  }

  /**
   * As verify, but synchronous when the token is answered from the verified-token cache: the hot
   * path then makes no promise. Throws (or rejects with) the same errors.
   */
  check(tenant: Tenant, authorization: string | undefined): VerifiedJwt | Promise<VerifiedJwt> {
    const token = authorization === undefined ? undefined : BEARER.exec(authorization)?.[1];
    if (token === undefined) throw missingJwt();
    // Validation refuses a JWT requirement without an idp; reaching here without one is a bad tenant.
    if (tenant.idp === undefined) throw tenantMisconfigured();
    const prepared = this.prepare(tenant.idp);
    if (this.verified.maxEntries < 1) return this.verifyFully(token, undefined, tenant.idp, prepared);
    const cacheKey = VerifiedTokenCache.keyOf(token);
    const cached = this.verified.get(cacheKey);
    if (cached !== undefined) {
      if (this.stillHolds(cached, tenant.idp, prepared)) return { subject: cached.subject };
      this.verified.delete(cacheKey);
    }
    return this.verifyFully(token, cacheKey, tenant.idp, prepared);
  }

  /** Entries in the verified-token cache (for tests and diagnostics). */
  get cachedTokens(): number {
    return this.verified.size;
  }

  private async verifyFully(token: string, cacheKey: string | undefined, idp: IdpConfig, prepared: Prepared): Promise<VerifiedJwt> {
    const keys = usableOnly(prepared.inlineKeys ?? this.jwks.keysFor(idp.jwksUri!));
    let verified: Verified;
    try {
      verified = await verifyWithKeySet(token, keys, { ...prepared.options, currentDate: new Date(this.now()) });
    } catch (err) {
      throw toGatewayError(err);
    }
    const subject = subjectOf(verified.payload);
    if (cacheKey !== undefined) this.remember(cacheKey, verified, subject, prepared);
    return { subject };
  }

  /** A verification is kept only when every bound on it is known: exp and the key that proved it. */
  private remember(cacheKey: string, { payload, key }: Verified, subject: string | undefined, prepared: Prepared): void {
    const thumbprint = keyThumbprint(key as CryptoKey);
    if (thumbprint === undefined || typeof payload.exp !== 'number') return;
    this.verified.set(cacheKey, {
      subject,
      exp: payload.exp,
      nbf: typeof payload.nbf === 'number' ? payload.nbf : undefined,
      idp: prepared.fingerprint,
      keyThumbprint: thumbprint,
    });
  }

  /**
   * SPEC §5 step 4: a cached verification holds only within exp/nbf (jose's comparison, same
   * tolerance), under the same idp settings, and while the key set still publishes the key material
   * that verified it.
   */
  private stillHolds(cached: VerifiedToken, idp: IdpConfig, prepared: Prepared): boolean {
    if (cached.idp !== prepared.fingerprint) return false;
    const now = Math.floor(this.now() / 1000);
    if (cached.exp <= now - this.clockToleranceS) return false;
    if (cached.nbf !== undefined && cached.nbf > now + this.clockToleranceS) return false;
    const published = prepared.inlineThumbprints ?? this.jwks.currentThumbprints(idp.jwksUri!);
    return published !== undefined && published.has(cached.keyThumbprint);
  }

  private prepare(idp: IdpConfig): Prepared {
    let prepared = this.prepared.get(idp);
    if (prepared === undefined) {
      prepared = {
        options: {
          issuer: idp.issuer,
          audience: idp.audience,
          // Asymmetric only, whatever was stored: `none` and HMAC (which would turn a public key into a secret) never pass.
          algorithms: (idp.algorithms ?? DEFAULT_ALGORITHMS).filter((alg) => KNOWN_ALGORITHMS.includes(alg)),
          requiredClaims: ['exp'],
          clockTolerance: this.clockToleranceS,
        },
        inlineKeys: idp.jwks === undefined ? undefined : createLocalJWKSet(idp.jwks),
        inlineThumbprints: idp.jwks === undefined ? undefined : setThumbprints(idp.jwks),
        fingerprint: JSON.stringify(idp),
      };
      this.prepared.set(idp, prepared);
    }
    return prepared;
  }
}

/**
 * jwtVerify with a key set, trying each candidate when several keys match a token without `kid`
 * (jose leaves that iteration to the caller).
 */
async function verifyWithKeySet(token: string, keys: KeyResolver, options: JWTVerifyOptions): Promise<Verified> {
  try {
    const { payload, key } = await jwtVerify(token, keys, options);
    return { payload, key };
  } catch (err) {
    if (!(err instanceof errors.JWKSMultipleMatchingKeys) || !(Symbol.asyncIterator in err)) throw err;
    for await (const key of err as unknown as AsyncIterable<CryptoKey>) {
      if (unusableReason(key) !== undefined) continue;
      try {
        return { payload: (await jwtVerify(token, key, options)).payload, key };
      } catch (inner) {
        if (!(inner instanceof errors.JWSSignatureVerificationFailed)) throw inner;
      }
    }
    throw new errors.JWSSignatureVerificationFailed();
  }
}

/** Why jose would refuse to verify with this key, or undefined when it is usable. */
function unusableReason(key: CryptoKey): string | undefined {
  const { modulusLength } = key.algorithm as { modulusLength?: unknown };
  // jose's minimum for RS* and PS*: it refuses smaller keys with a TypeError, not a JOSEError.
  if (modulusLength !== undefined && (typeof modulusLength !== 'number' || modulusLength < MIN_RSA_BITS)) {
    return `the key set's key for this token is an RSA key under ${MIN_RSA_BITS} bits`;
  }
  return undefined;
}

/** WebCrypto's refusals of key material (DOMException names), as opposed to defects in the gateway. */
const IMPORT_FAILURES = new Set(['DataError', 'NotSupportedError', 'InvalidAccessError']);

/**
 * A key set may hold keys jose cannot use: malformed key material (WebCrypto refuses the import) or an
 * RSA key under 2048 bits (jose refuses it after the lookup). Either is thrown as a plain error, which
 * would make a token naming such a key a 500; the token cannot be verified, so it is invalid_jwt.
 */
function usableOnly(keys: KeyResolver): KeyResolver {
  return async (header, token) => {
    let key: CryptoKey;
    try {
      key = await keys(header, token);
    } catch (err) {
      const name = (err as { name?: unknown } | null)?.name;
      if (typeof name === 'string' && IMPORT_FAILURES.has(name)) {
        throw new errors.JWKSInvalid("the key set's key for this token cannot be imported");
      }
      throw err;
    }
    const reason = unusableReason(key);
    if (reason !== undefined) throw new errors.JWKSInvalid(reason);
    return key;
  };
}

function subjectOf(payload: JWTPayload): string | undefined {
  const sub: unknown = payload.sub;
  if (sub === undefined) return undefined;
  if (typeof sub !== 'string') throw invalidJwt('"sub" claim must be a string');
  if (!HEADER_SAFE.test(sub)) throw invalidJwt('"sub" claim contains characters that cannot be forwarded in X-Auth-Subject');
  return sub;
}

/** jose's errors are about the client's token: their messages carry no secret and no token content. */
function toGatewayError(err: unknown): unknown {
  if (err instanceof GatewayError) return err;
  if (err instanceof JwksUnavailableError) return jwksUnavailable(err.message);
  if (err instanceof errors.JOSEError) return invalidJwt(err.message);
  // Anything else is a defect, not a verdict on the token: it surfaces as a logged 500.
  return err;
}
