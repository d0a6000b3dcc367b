import { setTimeout as sleep } from 'node:timers/promises';
import { JwksCache } from '../../src/policy/steps/jwt/jwks-cache';
import { JwtVerifier, type VerifiedJwt } from '../../src/policy/steps/jwt/jwt-verifier';
import type { Tenant } from '../../src/tenants/tenant.model';
import { AUDIENCE, bearer, claims, ISSUER, tenantWithIdp } from '../support/jwt-fixtures';
import { makeKey, signToken, startJwksServer, type JwksServer, type SigningKey } from '../support/jwks-server';

/*
 * The verified-token cache against a real JWKS server on 127.0.0.1 (SPEC §5 step 4): a cached
 * verification never outlives a key-set refresh that no longer holds the key that verified it,
 * compared by JWK thumbprint so new material published under the old kid counts as a new key.
 */

const servers: JwksServer[] = [];
afterAll(() => Promise.all(servers.map((s) => s.close())));

let k1: SigningKey;
let k1Reissued: SigningKey;
let k2: SigningKey;

beforeAll(async () => {
  [k1, k2] = await Promise.all([makeKey('RS256'), makeKey('ES256')]);
  k1Reissued = await makeKey('RS256', k1.kid);
});

interface Setup {
  idp: JwksServer;
  tenant: Tenant;
  verifier: JwtVerifier;
  /** The key-set cache's clock, in ms since the test began. */
  advanceJwksClock(ms: number): void;
}

/** A verifier whose key-set cache refetches at once on an unknown kid (no cooldown). */
async function setUp(published: SigningKey[], maxAgeMs = 600_000): Promise<Setup> {
  const idp = await startJwksServer(published);
  servers.push(idp);
  let jwksNow = 0;
  const jwks = new JwksCache({ timeoutMs: 2000, cooldownMs: 0, maxAgeMs, now: () => jwksNow });
  return {
    idp,
    tenant: tenantWithIdp({ issuer: ISSUER, jwksUri: idp.jwksUri, audience: AUDIENCE }),
    verifier: new JwtVerifier(jwks, { jwtClockToleranceS: 5 }),
    advanceJwksClock: (ms) => {
      jwksNow += ms;
    },
  };
}

function expectCacheHit(answer: VerifiedJwt | Promise<VerifiedJwt>, subject: string): void {
  if (answer instanceof Promise) answer.catch(() => undefined);
  expect(answer).toEqual({ subject });
}

async function expectRefusedInFull(answer: VerifiedJwt | Promise<VerifiedJwt>): Promise<void> {
  expect(answer).toBeInstanceOf(Promise);
  await expect(answer).rejects.toMatchObject({ status: 401, code: 'invalid_jwt' });
}

describe('the verified-token cache and key-set refreshes', () => {
  it('keeps answering a cached token after a refresh that still publishes its key', async () => {
    const { idp, tenant, verifier } = await setUp([k1]);
    const token = bearer(await signToken(k1, claims({ sub: 'kept' })));
    await verifier.check(tenant, token);
    idp.publish([k1, k2]);
    await verifier.check(tenant, bearer(await signToken(k2, claims())));
    expect(idp.hits).toBe(2);
    expectCacheHit(verifier.check(tenant, token), 'kept');
  });

  it('stops answering a cached token once a refresh drops the key that verified it', async () => {
    const { idp, tenant, verifier } = await setUp([k1]);
    const token = bearer(await signToken(k1, claims({ sub: 'dropped' })));
    await verifier.check(tenant, token);
    expectCacheHit(verifier.check(tenant, token), 'dropped');
    idp.publish([k2]);
    // A token under the new kid makes the gateway refetch the set.
    await verifier.check(tenant, bearer(await signToken(k2, claims())));
    await expectRefusedInFull(verifier.check(tenant, token));
  });

  it('stops answering a cached token once new key material is published under its kid', async () => {
    const { idp, tenant, verifier } = await setUp([k1]);
    const token = bearer(await signToken(k1, claims({ sub: 'reissued' })));
    await verifier.check(tenant, token);
    idp.publish([k1Reissued, k2]);
    await verifier.check(tenant, bearer(await signToken(k2, claims())));
    await expectRefusedInFull(verifier.check(tenant, token));
    // The new material verifies its own tokens.
    await expect(verifier.check(tenant, bearer(await signToken(k1Reissued, claims({ sub: 'new' }))))).resolves.toEqual({ subject: 'new' });
  });

  it('refetches a set past its maximum age on cache hits alone, so a dropped key ends the cached answer', async () => {
    const { idp, tenant, verifier, advanceJwksClock } = await setUp([k1], 1_000);
    const token = bearer(await signToken(k1, claims({ sub: 'aging' })));
    await verifier.check(tenant, token);
    idp.publish([k2]);
    advanceJwksClock(1_001);
    // Stale-while-revalidate: this hit is answered from the set held, and starts a refetch.
    expectCacheHit(verifier.check(tenant, token), 'aging');
    // Once the refetch lands (bounded wait), the token is verified in full again, and refused.
    let answer = verifier.check(tenant, token);
    for (let i = 0; i < 100 && !(answer instanceof Promise); i++) {
      await sleep(20);
      answer = verifier.check(tenant, token);
    }
    expect(idp.hits).toBe(2);
    await expectRefusedInFull(answer);
  });
});
