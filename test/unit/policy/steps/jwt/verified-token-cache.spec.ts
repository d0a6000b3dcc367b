import { JwksCache } from '../../../../../src/policy/steps/jwt/jwks-cache';
import { JwtVerifier, type VerifiedJwt } from '../../../../../src/policy/steps/jwt/jwt-verifier';
import type { Tenant } from '../../../../../src/tenants/tenant.model';
import { AUDIENCE, bearer, claims, expectInvalidJwt, ISSUER, tenantWithIdp } from '../../../../support/jwt-fixtures';
import { makeKey, signToken, type SigningKey } from '../../../../support/jwks-server';

/*
 * The verified-token cache (SPEC §5 step 4), with inline key sets: a repeated token is answered
 * without a signature check and without a promise, but never past exp/nbf, never under other idp
 * settings, never for bytes that differ from those verified. Remote key-set refreshes are covered in
 * test/contract/jwt-verifier-remote.spec.ts.
 */

const TOLERANCE_S = 5;

let rs: SigningKey;
let attacker: SigningKey;
let tenant: Tenant;
/** The verifier's clock (epoch ms): tests move it. */
let clockMs: number;
const clock = () => clockMs;
const nowS = () => Math.floor(clockMs / 1000);

function verifierWith(jwtCacheSize?: number): JwtVerifier {
  return new JwtVerifier(new JwksCache(), { jwtClockToleranceS: TOLERANCE_S, ...(jwtCacheSize !== undefined && { jwtCacheSize }) }, clock);
}

/** The answer when it came without a promise (a cache hit); fails the test otherwise. */
function syncAnswer(answer: VerifiedJwt | Promise<VerifiedJwt>): VerifiedJwt {
  if (answer instanceof Promise) {
    answer.catch(() => undefined);
    throw new Error('expected an answer from the cache, got a promise (a full verification)');
  }
  return answer;
}

beforeAll(async () => {
  [rs, attacker] = await Promise.all([makeKey('RS256'), makeKey('RS256')]);
  tenant = tenantWithIdp({ issuer: ISSUER, jwks: { keys: [rs.jwk] }, audience: AUDIENCE });
});

beforeEach(() => {
  clockMs = Date.now();
});

describe('the verified-token cache', () => {
  it('answers a repeated token from the cache, synchronously, with the same subject', async () => {
    const verifier = verifierWith();
    const auth = bearer(await signToken(rs, claims({ sub: 'alice' })));
    const first = verifier.check(tenant, auth);
    expect(first).toBeInstanceOf(Promise);
    await expect(first).resolves.toEqual({ subject: 'alice' });
    expect(verifier.cachedTokens).toBe(1);
    expect(syncAnswer(verifier.check(tenant, auth))).toEqual({ subject: 'alice' });
  });

  it('does not take a forged token sharing a cached token’s header and payload for a hit', async () => {
    const verifier = verifierWith();
    const good = await signToken(rs, claims({ sub: 'alice' }));
    await verifier.check(tenant, bearer(good));
    const [header, payload] = good.split('.');
    const attackerSignature = (await signToken(attacker, claims(), { kid: rs.kid })).split('.')[2];
    for (const signature of [attackerSignature, good.split('.')[2].slice(0, -4) + 'AAAA', '']) {
      const forged = `${header}.${payload}.${signature}`;
      const answer = verifier.check(tenant, bearer(forged));
      expect(answer).toBeInstanceOf(Promise);
      await expect(answer).rejects.toMatchObject({ status: 401, code: 'invalid_jwt' });
    }
    expect(verifier.cachedTokens).toBe(1);
  });

  it('never answers past the token’s exp: at exp + tolerance the cached token is refused as expired', async () => {
    const verifier = verifierWith();
    const exp = nowS() + 60;
    const auth = bearer(await signToken(rs, claims({ exp })));
    await verifier.check(tenant, auth);
    clockMs = (exp + TOLERANCE_S) * 1000 - 1;
    expect(syncAnswer(verifier.check(tenant, auth))).toEqual({ subject: 'user-1' });
    clockMs = (exp + TOLERANCE_S) * 1000;
    const err = await expectInvalidJwt(verifier, tenant, auth);
    expect(err.detail).toContain('"exp" claim timestamp check failed');
    expect(verifier.cachedTokens).toBe(0);
  });

  it('checks nbf on every hit: after the clock steps back, a cached token not yet valid is refused', async () => {
    const verifier = verifierWith();
    const nbf = nowS() + 2;
    const auth = bearer(await signToken(rs, claims({ nbf })));
    await verifier.check(tenant, auth);
    expect(syncAnswer(verifier.check(tenant, auth))).toEqual({ subject: 'user-1' });
    clockMs = (nbf - TOLERANCE_S - 1) * 1000;
    const err = await expectInvalidJwt(verifier, tenant, auth);
    expect(err.detail).toContain('"nbf" claim timestamp check failed');
  });

  it('never answers under changed idp settings, and answers under equal ones held in another object', async () => {
    const verifier = verifierWith();
    const auth = bearer(await signToken(rs, claims()));
    await verifier.check(tenant, auth);
    const sameSettings = tenantWithIdp({ issuer: ISSUER, jwks: { keys: [rs.jwk] }, audience: AUDIENCE });
    expect(syncAnswer(verifier.check(sameSettings, auth))).toEqual({ subject: 'user-1' });

    const otherAudience = tenantWithIdp({ issuer: ISSUER, jwks: { keys: [rs.jwk] }, audience: 'another-api' });
    const err = await expectInvalidJwt(verifier, otherAudience, auth);
    expect(err.detail).toContain('"aud" claim');
    const keyDropped = tenantWithIdp({ issuer: ISSUER, jwks: { keys: [attacker.jwk] }, audience: AUDIENCE });
    await expectInvalidJwt(verifier, keyDropped, auth);
    const otherAlgorithms = tenantWithIdp({ issuer: ISSUER, jwks: { keys: [rs.jwk] }, audience: AUDIENCE, algorithms: ['ES256'] });
    await expectInvalidJwt(verifier, otherAlgorithms, auth);
  });

  it('keeps nothing from a refused token', async () => {
    const verifier = verifierWith();
    const auth = bearer(await signToken(attacker, claims(), { kid: rs.kid }));
    await expectInvalidJwt(verifier, tenant, auth);
    await expectInvalidJwt(verifier, tenant, auth);
    expect(verifier.cachedTokens).toBe(0);
  });

  it('is bounded by JWT_CACHE_SIZE, evicting the least recently used token', async () => {
    const verifier = verifierWith(2);
    const [a, b, c] = await Promise.all(['a', 'b', 'c'].map(async (sub) => bearer(await signToken(rs, claims({ sub })))));
    await verifier.check(tenant, a);
    await verifier.check(tenant, b);
    syncAnswer(verifier.check(tenant, a)); // a is now more recent than b
    await verifier.check(tenant, c);
    expect(verifier.cachedTokens).toBe(2);
    expect(syncAnswer(verifier.check(tenant, a))).toEqual({ subject: 'a' });
    expect(syncAnswer(verifier.check(tenant, c))).toEqual({ subject: 'c' });
    const again = verifier.check(tenant, b);
    expect(again).toBeInstanceOf(Promise);
    await expect(again).resolves.toEqual({ subject: 'b' });
  });

  it('with JWT_CACHE_SIZE=0 verifies every token in full', async () => {
    const verifier = verifierWith(0);
    const auth = bearer(await signToken(rs, claims()));
    await verifier.check(tenant, auth);
    const again = verifier.check(tenant, auth);
    expect(again).toBeInstanceOf(Promise);
    await expect(again).resolves.toEqual({ subject: 'user-1' });
    expect(verifier.cachedTokens).toBe(0);
  });
});
