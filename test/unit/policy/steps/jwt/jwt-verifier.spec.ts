import { exportSPKI, SignJWT } from 'jose';
import { JwksCache } from '../../../../../src/policy/steps/jwt/jwks-cache';
import { JwtVerifier } from '../../../../../src/policy/steps/jwt/jwt-verifier';
import type { Tenant } from '../../../../../src/tenants/tenant.model';
import { gatewayErrorOf } from '../../../../support/gateway-error';
import { AUDIENCE, bearer, claims, expectInvalidJwt, ISSUER, tenantWithIdp } from '../../../../support/jwt-fixtures';
import { makeKey, signToken, type SigningKey } from '../../../../support/jwks-server';

/*
 * The verifier on its own: tenant + Authorization header in, subject or GatewayError out. Keys are
 * made with jose and tenants carry them inline, so no network is involved; remote key sets are
 * covered in test/contract/jwt-verifier-remote.spec.ts.
 */

const TOLERANCE_S = 5;

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
const now = (): number => Math.floor(Date.now() / 1000);

let rs: SigningKey;
let es: SigningKey;
let attacker: SigningKey;
let inline: Tenant;
let rsOnly: Tenant;
let noAudience: Tenant;
let verifier: JwtVerifier;
let cache: JwksCache;


const invalid = (t: Tenant, authorization: string) => expectInvalidJwt(verifier, t, authorization);

beforeAll(async () => {
  [rs, es, attacker] = await Promise.all([makeKey('RS256'), makeKey('ES256'), makeKey('RS256')]);
  const keys = { keys: [rs.jwk, es.jwk] };
  inline = tenantWithIdp({ issuer: ISSUER, jwks: keys, audience: AUDIENCE });
  rsOnly = tenantWithIdp({ issuer: ISSUER, jwks: keys, audience: AUDIENCE, algorithms: ['RS256'] });
  noAudience = tenantWithIdp({ issuer: ISSUER, jwks: keys });
  cache = new JwksCache({ timeoutMs: 1000 });
  verifier = new JwtVerifier(cache, { jwtClockToleranceS: TOLERANCE_S });
});

describe('JwtVerifier: the Authorization header', () => {
  it.each([
    ['no header', undefined],
    ['an empty value', ''],
    ['a Basic credential', 'Basic dXNlcjpwYXNz'],
    ['the Bearer scheme without a token', 'Bearer'],
    ['the Bearer scheme and spaces only', 'Bearer   '],
    ['a token without a scheme', 'eyJhbGciOiJSUzI1NiJ9.e30.c2ln'],
  ])('answers 401 missing_jwt with WWW-Authenticate: Bearer for %s', async (_label, authorization) => {
    const err = await gatewayErrorOf(() => verifier.verify(inline, authorization));
    expect({ status: err.status, code: err.code, headers: err.headers }).toEqual({
      status: 401,
      code: 'missing_jwt',
      headers: { 'WWW-Authenticate': 'Bearer' },
    });
  });

  it.each(['Bearer', 'bearer', 'BEARER', 'BeArEr'])('accepts the scheme written %s', async (scheme) => {
    const token = await signToken(rs, claims());
    await expect(verifier.verify(inline, `${scheme} ${token}`)).resolves.toEqual({ subject: 'user-1' });
  });
});

describe('JwtVerifier: accepted tokens', () => {
  it('accepts RS256 and ES256 tokens signed by published keys and returns sub', async () => {
    await expect(verifier.verify(inline, bearer(await signToken(rs, claims({ sub: 'alice' }))))).resolves.toEqual({ subject: 'alice' });
    await expect(verifier.verify(inline, bearer(await signToken(es, claims({ sub: 'bob' }))))).resolves.toEqual({ subject: 'bob' });
  });

  it('returns no subject for a token without sub', async () => {
    await expect(verifier.verify(inline, bearer(await signToken(rs, { iss: ISSUER, aud: AUDIENCE })))).resolves.toEqual({ subject: undefined });
  });

  it('accepts an audience among several in the token, and any audience when the tenant sets none', async () => {
    await expect(verifier.verify(inline, bearer(await signToken(rs, claims({ aud: ['other', AUDIENCE] }))))).resolves.toBeDefined();
    await expect(verifier.verify(noAudience, bearer(await signToken(rs, claims({ aud: 'anything' }))))).resolves.toBeDefined();
  });

  it('honours the clock tolerance: exp just past and nbf just ahead are accepted', async () => {
    const past = await signToken(rs, claims({ exp: now() - (TOLERANCE_S - 2) }), { expiresIn: null });
    const ahead = await signToken(rs, claims({ nbf: now() + (TOLERANCE_S - 2) }));
    await expect(verifier.verify(inline, bearer(past))).resolves.toBeDefined();
    await expect(verifier.verify(inline, bearer(ahead))).resolves.toBeDefined();
  });

  it('tries each key when a token has no kid and several keys could match', async () => {
    const other = await makeKey('RS256');
    const twoRsa = tenantWithIdp({ issuer: ISSUER, jwks: { keys: [other.jwk, rs.jwk] } });
    await expect(verifier.verify(twoRsa, bearer(await signToken(rs, claims(), { kid: null })))).resolves.toEqual({ subject: 'user-1' });
    await invalid(twoRsa, bearer(await signToken(attacker, claims(), { kid: null })));
  });
});

describe('JwtVerifier: refused tokens are 401 invalid_jwt', () => {
  it.each([
    ['not a JWT', 'not-a-jwt'],
    ['two segments', 'eyJhbGciOiJSUzI1NiJ9.e30'],
    ['four segments', 'a.b.c.d'],
    ['a header that is not JSON', `${Buffer.from('{nope').toString('base64url')}.e30.c2ln`],
    ['a header without alg', `${b64({ typ: 'JWT' })}.${b64(claims())}.c2ln`],
  ])('a malformed token: %s', async (_label, token) => {
    await invalid(inline, bearer(token));
  });

  it('alg "none" (unsigned), with and without a signature segment', async () => {
    const body = `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims({ exp: now() + 300 }))}`;
    const err = await invalid(inline, bearer(`${body}.`));
    expect(err.detail).toMatch(/alg/i);
    await invalid(inline, bearer(`${body}.c2ln`));
  });

  it('HS256 signed with the RSA public key as the HMAC secret (PEM and JWK forms)', async () => {
    const pem = new TextEncoder().encode(await exportSPKI(rs.publicKey));
    const jwkText = new TextEncoder().encode(JSON.stringify(rs.jwk));
    for (const secret of [pem, jwkText]) {
      const token = await new SignJWT(claims({ exp: now() + 300 })).setProtectedHeader({ alg: 'HS256', kid: rs.kid }).sign(secret);
      await invalid(inline, bearer(token));
    }
  });

  it('a tampered payload (signature no longer matches)', async () => {
    const [header, , signature] = (await signToken(rs, claims())).split('.');
    const err = await invalid(inline, bearer(`${header}.${b64(claims({ sub: 'admin', exp: now() + 300 }))}.${signature}`));
    expect(err.detail).toBe('signature verification failed');
  });

  it('a token signed by a key that is not published, under a published kid or an unknown one', async () => {
    await invalid(inline, bearer(await signToken(attacker, claims(), { kid: rs.kid })));
    const err = await invalid(inline, bearer(await signToken(attacker, claims())));
    expect(err.detail).toMatch(/no applicable key/);
  });

  it('expired beyond the tolerance', async () => {
    const err = await invalid(inline, bearer(await signToken(rs, claims({ exp: now() - (TOLERANCE_S + 30) }), { expiresIn: null })));
    expect(err.detail).toBe('"exp" claim timestamp check failed');
  });

  it('nbf ahead beyond the tolerance', async () => {
    const err = await invalid(inline, bearer(await signToken(rs, claims({ nbf: now() + TOLERANCE_S + 30 }))));
    expect(err.detail).toBe('"nbf" claim timestamp check failed');
  });

  it('no exp claim', async () => {
    const err = await invalid(inline, bearer(await signToken(rs, claims(), { expiresIn: null })));
    expect(err.detail).toMatch(/"exp" claim/);
  });

  it('a wrong or missing issuer', async () => {
    await invalid(inline, bearer(await signToken(rs, claims({ iss: 'https://evil.test/' }))));
    await invalid(inline, bearer(await signToken(rs, claims({ iss: 'https://idp.test' }))));
    await invalid(inline, bearer(await signToken(rs, { aud: AUDIENCE, sub: 'x' })));
  });

  it('a wrong or missing audience when the tenant sets one', async () => {
    const err = await invalid(inline, bearer(await signToken(rs, claims({ aud: 'other-api' }))));
    expect(err.detail).toBe('unexpected "aud" claim value');
    await invalid(inline, bearer(await signToken(rs, { iss: ISSUER, sub: 'x' })));
  });

  it('an algorithm outside the tenant allowlist, even when signed by a published key', async () => {
    const err = await invalid(rsOnly, bearer(await signToken(es, claims())));
    expect(err.detail).toMatch(/alg.*not allowed/i);
    await expect(verifier.verify(rsOnly, bearer(await signToken(rs, claims())))).resolves.toBeDefined();
  });

  it('a sub that is not a string, or that cannot travel in a header', async () => {
    await invalid(inline, bearer(await signToken(rs, claims({ sub: 42 as unknown as string }))));
    await invalid(inline, bearer(await signToken(rs, claims({ sub: 'a\r\nX-Injected: 1' }))));
  });

  it('never repeats the token in the detail', async () => {
    const token = await signToken(rs, claims({ aud: 'other-api' }));
    const err = await invalid(inline, bearer(token));
    for (const part of token.split('.')) expect(err.detail).not.toContain(part);
  });
});
