import { generateKeyPairSync, sign as cryptoSign } from 'node:crypto';
import type { JWK } from 'jose';
import { JwksCache } from '../../src/policy/steps/jwt/jwks-cache';
import { JwtVerifier } from '../../src/policy/steps/jwt/jwt-verifier';
import type { Tenant } from '../../src/tenants/tenant.model';
import { gatewayErrorOf } from '../support/gateway-error';
import { AUDIENCE, bearer, claims, expectInvalidJwt, ISSUER, tenantWithIdp } from '../support/jwt-fixtures';
import { makeKey, signToken, startJwksServer, type JwksServer, type SigningKey } from '../support/jwks-server';

/*
 * The verifier with remote key sets, against real JWKS servers on 127.0.0.1: keys named in a token
 * are never fetched, a set that cannot be fetched is jwks_unavailable, and a token refused before
 * a key is needed costs the IdP nothing.
 */

const TOLERANCE_S = 5;

let rs: SigningKey;
let es: SigningKey;
let attacker: SigningKey;
let inline: Tenant;
let verifier: JwtVerifier;
let cache: JwksCache;
/** Every JWKS server started, closed in afterAll even when a test fails half-way. */
const servers: JwksServer[] = [];

async function server(keys: SigningKey[]): Promise<JwksServer> {
  const s = await startJwksServer(keys);
  servers.push(s);
  return s;
}

afterAll(() => Promise.all(servers.map((s) => s.close())));


const invalid = (t: Tenant, authorization: string) => expectInvalidJwt(verifier, t, authorization);

beforeAll(async () => {
  [rs, es, attacker] = await Promise.all([makeKey('RS256'), makeKey('ES256'), makeKey('RS256')]);
  const keys = { keys: [rs.jwk, es.jwk] };
  inline = tenantWithIdp({ issuer: ISSUER, jwks: keys, audience: AUDIENCE });
  cache = new JwksCache({ timeoutMs: 1000 });
  verifier = new JwtVerifier(cache, { jwtClockToleranceS: TOLERANCE_S });
});

describe('JwtVerifier: keys named in the token are never fetched or trusted', () => {
  let trap: JwksServer;
  let remote: Tenant;

  beforeAll(async () => {
    trap = await server([attacker]);
    remote = tenantWithIdp({ issuer: ISSUER, jwksUri: (await server([rs, es])).jwksUri, audience: AUDIENCE });
  });

  it.each([
    ['jku', () => ({ jku: trap.jwksUri })],
    ['x5u', () => ({ x5u: trap.jwksUri })],
    ['jwk', () => ({ jwk: attacker.jwk })],
    ['jwk with the published kid', () => ({ jwk: attacker.jwk, kid: rs.kid })],
  ])('a token carrying %s signed by the attacker key is refused, and nothing is fetched', async (_label, header) => {
    const token = await signToken(attacker, claims(), { header: header() });
    await invalid(inline, bearer(token));
    await invalid(remote, bearer(token));
    expect(trap.hits).toBe(0);
  });
});

describe('JwtVerifier: remote key sets', () => {
  let idp: JwksServer;

  beforeAll(async () => {
    idp = await server([rs, es]);
  });

  it('verifies against the keys at jwksUri', async () => {
    const remote = tenantWithIdp({ issuer: ISSUER, jwksUri: idp.jwksUri, audience: AUDIENCE });
    await expect(verifier.verify(remote, bearer(await signToken(es, claims({ sub: 'carol' }))))).resolves.toEqual({ subject: 'carol' });
    expect(idp.hits).toBe(1);
  });

  it('answers 503 jwks_unavailable when the set cannot be fetched and none is cached', async () => {
    const down = await server([rs]);
    down.mode = 'error';
    const remote = tenantWithIdp({ issuer: ISSUER, jwksUri: down.jwksUri });
    const err = await gatewayErrorOf(async () => verifier.verify(remote, bearer(await signToken(rs, claims()))));
    expect({ status: err.status, code: err.code }).toEqual({ status: 503, code: 'jwks_unavailable' });
    expect(err.detail).toMatch(/HTTP 503/);
  });

  it('fetches nothing for a token refused before a key is needed (alg, malformed)', async () => {
    const fresh = await server([rs]);
    const remote = tenantWithIdp({ issuer: ISSUER, jwksUri: fresh.jwksUri, algorithms: ['ES256'] });
    await invalid(remote, bearer(await signToken(rs, claims())));
    await invalid(remote, bearer('a.b.c'));
    expect(fresh.hits).toBe(0);
  });
});

describe('JwtVerifier: keys the IdP publishes that cannot be used', () => {
  /** An RS256 key of `bits`, made with node:crypto (jose refuses to make or sign with one under 2048 bits). */
  function nodeRsaKey(bits: number, kid: string): { jwk: JWK; sign: (payload: object, kid: string | null) => string } {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: bits });
    const jwk = { ...(publicKey.export({ format: 'jwk' }) as JWK), kid, alg: 'RS256', use: 'sig' };
    const part = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url');
    const sign = (payload: object, tokenKid: string | null): string => {
      const input = `${part({ alg: 'RS256', ...(tokenKid !== null && { kid: tokenKid }) })}.${part(payload)}`;
      return `${input}.${cryptoSign('sha256', Buffer.from(input), privateKey).toString('base64url')}`;
    };
    return { jwk, sign };
  }
  const asPublished = (jwk: JWK): SigningKey => ({ jwk }) as SigningKey;
  const exp = (): number => Math.floor(Date.now() / 1000) + 300;

  it('a token naming an RSA key under 2048 bits is 401 invalid_jwt, not an internal error', async () => {
    const weak = nodeRsaKey(1024, 'weak');
    const idp = await server([asPublished(weak.jwk)]);
    const remote = tenantWithIdp({ issuer: ISSUER, jwksUri: idp.jwksUri, audience: AUDIENCE });
    const err = await invalid(remote, bearer(weak.sign(claims({ exp: exp() }), 'weak')));
    expect(err.detail).toMatch(/2048/);
  });

  it('a token naming a malformed key (an EC point cut short) is 401 invalid_jwt, not an internal error', async () => {
    const broken = { ...es.jwk, kid: 'broken', x: String(es.jwk.x).slice(0, 10) };
    const idp = await server([asPublished(broken)]);
    const remote = tenantWithIdp({ issuer: ISSUER, jwksUri: idp.jwksUri, audience: AUDIENCE });
    await invalid(remote, bearer(await signToken(es, claims(), { kid: 'broken' })));
  });

  it('a token without kid still verifies with the good key when a weak key also matches', async () => {
    const weak = nodeRsaKey(1024, 'weak');
    const { kid: _weakKid, ...weakNoKid } = weak.jwk;
    const { kid: _goodKid, ...goodNoKid } = rs.jwk;
    const idp = await server([asPublished(weakNoKid), asPublished(goodNoKid)]);
    const remote = tenantWithIdp({ issuer: ISSUER, jwksUri: idp.jwksUri, audience: AUDIENCE });
    const token = await signToken(rs, claims({ sub: 'dave' }), { kid: null });
    await expect(verifier.verify(remote, bearer(token))).resolves.toEqual({ subject: 'dave' });
    await invalid(remote, bearer(weak.sign(claims({ exp: exp() }), null)));
  });
});
