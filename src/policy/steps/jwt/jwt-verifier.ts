import { Inject, Injectable } from '@nestjs/common';
import { createLocalJWKSet, errors, jwtVerify, type CryptoKey, type JWTPayload, type JWTVerifyOptions } from 'jose';
import { GATEWAY_CONFIG, type GatewayConfig } from '../../../config/config.types';
import { GatewayError, invalidJwt, jwksUnavailable, missingJwt, tenantMisconfigured } from '../../../errors/gateway-error';
import type { IdpConfig, Tenant } from '../../../tenants/tenant.model';
import { DEFAULT_ALGORITHMS, KNOWN_ALGORITHMS, MIN_RSA_BITS } from '../../../tenants/jwk-rules';
import { JwksCache, JwksUnavailableError, type KeyResolver } from './jwks-cache';

export interface VerifiedJwt {
  /** The token's `sub`, forwarded upstream as X-Auth-Subject; undefined when the token has none. */
  subject: string | undefined;
}

/** RFC 6750 §2.1; the scheme is case-insensitive (RFC 9110 §11.1). */
const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;
/** What Node accepts in a header value, minus tab and obs-text: a `sub` outside it cannot be forwarded. */
const HEADER_SAFE = /^[\x20-\x7e]*$/;

/** Per identity-provider object: its verify options and, for inline keys, its key set, built once. */
interface Prepared {
  options: JWTVerifyOptions;
  inlineKeys: KeyResolver | undefined;
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

  constructor(
    @Inject(JwksCache) private readonly jwks: JwksCache,
    @Inject(GATEWAY_CONFIG) config: Pick<GatewayConfig, 'jwtClockToleranceS'>,
  ) {
    this.clockToleranceS = config.jwtClockToleranceS;
  }

  async verify(tenant: Tenant, authorization: string | undefined): Promise<VerifiedJwt> {
    const token = authorization === undefined ? undefined : BEARER.exec(authorization)?.[1];
    if (token === undefined) throw missingJwt();
    // Validation refuses a JWT requirement without an idp; reaching here without one is a bad tenant.
    if (tenant.idp === undefined) throw tenantMisconfigured();
    const { options, inlineKeys } = this.prepare(tenant.idp);
    const keys = usableOnly(inlineKeys ?? this.jwks.keysFor(tenant.idp.jwksUri!));
    let payload: JWTPayload;
    try {
      payload = await verifyWithKeySet(token, keys, options);
    } catch (err) {
      throw toGatewayError(err);
    }
    return { subject: subjectOf(payload) };
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
async function verifyWithKeySet(token: string, keys: KeyResolver, options: JWTVerifyOptions): Promise<JWTPayload> {
  try {
    return (await jwtVerify(token, keys, options)).payload;
  } catch (err) {
    if (!(err instanceof errors.JWKSMultipleMatchingKeys) || !(Symbol.asyncIterator in err)) throw err;
    for await (const key of err as unknown as AsyncIterable<CryptoKey>) {
      if (unusableReason(key) !== undefined) continue;
      try {
        return (await jwtVerify(token, key, options)).payload;
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
