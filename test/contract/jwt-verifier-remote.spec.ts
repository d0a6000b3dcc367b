import { JwksCache } from '../../src/identity/jwks-cache';
import { JwtVerifier } from '../../src/identity/jwt-verifier';
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
