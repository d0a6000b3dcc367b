import { randomBytes } from 'node:crypto';
import { exportSPKI, SignJWT } from 'jose';
import { startGateway, type TestGateway } from '../support/gateway';
import { makeKey, signToken, startJwksServer, type JwksServer, type SigningKey } from '../support/jwks-server';
import { AUDIENCE, claims, ISSUER } from '../support/jwt-fixtures';
import { sleep } from '../support/redis-server';
import { startUpstream, type Upstream } from '../support/upstream';
import { createTenantWithKey, expectProblem, send, type Reply } from './helpers/e2e-http';

/*
 * SPEC §5 step 4, §5.3 X-Auth-Subject and the §5.4 JWT rows, end to end: the real app (embedded
 * store), a real echo upstream, and real JWKS servers publishing keys made with jose. Every refused
 * token must leave the upstream untouched.
 */

const TOLERANCE_S = 30;

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
const now = (): number => Math.floor(Date.now() / 1000);

let upstream: Upstream;
const servers: JwksServer[] = [];
const gateways: TestGateway[] = [];
/** Every token sent, to look for in the logs at the end. */
const sentTokens: string[] = [];

async function jwksServer(keys: SigningKey[]): Promise<JwksServer> {
  const server = await startJwksServer(keys);
  servers.push(server);
  return server;
}

async function gateway(...args: Parameters<typeof startGateway>): Promise<TestGateway> {
  const gw = await startGateway(...args);
  gateways.push(gw);
  return gw;
}

/** Creates a tenant through the control plane and returns a fresh API key for it. */
async function tenant(gw: TestGateway, name: string, idp: Record<string, unknown>, routes?: unknown[]): Promise<string> {
  const id = `${name}-${randomBytes(3).toString('hex')}`;
  const body = { id, upstreamBaseUrl: `${upstream.url}/${name}`, allowedRoutes: routes ?? [{ path: '/' }], idp };
  return createTenantWithKey(gw, body);
}

function call(gw: TestGateway, apiKey: string, path: string, token?: string, headers: Record<string, string> = {}): Promise<Reply> {
  if (token !== undefined) sentTokens.push(token);
  const auth: Record<string, string> = token === undefined ? {} : { Authorization: `Bearer ${token}` };
  return send(gw.url, 'GET', `/api${path}`, { headers: { 'X-API-Key': apiKey, ...auth, ...headers } });
}

/** 200 from the echo upstream; returns the headers the upstream received. */
function expectProxied(reply: Reply): Record<string, string | string[] | undefined> {
  expect([reply.status, reply.text.slice(0, 300)]).toEqual([200, reply.text.slice(0, 300)]);
  return reply.json.headers as Record<string, string | string[] | undefined>;
}

/** 401 invalid_jwt with the RFC 6750 challenge, and nothing reached the upstream. */
function expectInvalidJwt(reply: Reply, upstreamBefore: number): void {
  expectProblem(reply, 401, 'invalid_jwt');
  expect(reply.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
  expect(upstream.received.length).toBe(upstreamBefore);
}

beforeAll(async () => {
  upstream = await startUpstream();
});

afterAll(async () => {
  await Promise.all(gateways.map((gw) => gw.close()));
  await Promise.all(servers.map((s) => s.close()));
  await upstream?.close();
});

describe('verification and the attack corpus', () => {
  let gw: TestGateway;
  let idp: JwksServer;
  /** A second server a token's jku points at: it must never be asked. */
  let trap: JwksServer;
  let rs: SigningKey;
  let es: SigningKey;
  let attacker: SigningKey;
  let inlineKey: SigningKey;
  let mainKey: string;
  let rsOnlyKey: string;
  let inlineApiKey: string;

  beforeAll(async () => {
    [rs, es, attacker, inlineKey] = await Promise.all([makeKey('RS256'), makeKey('ES256'), makeKey('RS256'), makeKey('ES256')]);
    idp = await jwksServer([rs, es]);
    trap = await jwksServer([attacker]);
    gw = await gateway({ JWT_CLOCK_TOLERANCE_S: String(TOLERANCE_S) });
    const remote = { issuer: ISSUER, jwksUri: idp.jwksUri, audience: AUDIENCE };
    mainKey = await tenant(gw, 'main', remote, [{ path: '/secure' }, { path: '/open', auth: { jwt: false } }]);
    rsOnlyKey = await tenant(gw, 'rsonly', { ...remote, algorithms: ['RS256'] });
    inlineApiKey = await tenant(gw, 'inline', { issuer: ISSUER, jwks: { keys: [inlineKey.jwk] }, audience: AUDIENCE });
  });

  it('accepts RS256 and ES256 tokens and sends their sub upstream as X-Auth-Subject, Authorization unchanged', async () => {
    for (const [key, sub] of [
      [rs, 'alice'],
      [es, 'bob'],
    ] as const) {
      const token = await signToken(key, claims({ sub }));
      const seen = expectProxied(await call(gw, mainKey, '/secure/me', token));
      expect(seen['x-auth-subject']).toBe(sub);
      expect(seen.authorization).toBe(`Bearer ${token}`);
    }
  });

  it('never lets a client-sent X-Auth-* header reach the upstream', async () => {
    const forged = { 'X-Auth-Subject': 'root', 'X-Auth-Roles': 'admin' };
    const verified = expectProxied(await call(gw, mainKey, '/secure/me', await signToken(rs, claims({ sub: 'alice' })), forged));
    expect(verified['x-auth-subject']).toBe('alice');
    expect(verified['x-auth-roles']).toBeUndefined();
    const noSub = expectProxied(await call(gw, mainKey, '/secure/me', await signToken(rs, { iss: ISSUER, aud: AUDIENCE }), forged));
    expect(noSub['x-auth-subject']).toBeUndefined();
    const open = expectProxied(await call(gw, mainKey, '/open/me', undefined, forged));
    expect(open['x-auth-subject']).toBeUndefined();
    expect(open['x-auth-roles']).toBeUndefined();
  });

  it('answers 401 missing_jwt with WWW-Authenticate: Bearer without a token, and proxies a jwt:false route without one', async () => {
    const before = upstream.received.length;
    const missing = await call(gw, mainKey, '/secure/me');
    expectProblem(missing, 401, 'missing_jwt');
    expect(missing.headers['www-authenticate']).toBe('Bearer');
    expect(upstream.received.length).toBe(before);
    expectProxied(await call(gw, mainKey, '/open/me'));
  });

  it('honours JWT_CLOCK_TOLERANCE_S: expired or not-yet-valid within it passes, beyond it is refused', async () => {
    expectProxied(await call(gw, mainKey, '/secure/x', await signToken(rs, claims({ exp: now() - 10 }), { expiresIn: null })));
    expectProxied(await call(gw, mainKey, '/secure/x', await signToken(rs, claims({ nbf: now() + 10 }))));
    const before = upstream.received.length;
    expectInvalidJwt(await call(gw, mainKey, '/secure/x', await signToken(rs, claims({ exp: now() - TOLERANCE_S - 30 }), { expiresIn: null })), before);
  });

  it('verifies a tenant with inline keys without fetching anything', async () => {
    const hits = [idp.hits, trap.hits];
    const seen = expectProxied(await call(gw, inlineApiKey, '/x', await signToken(inlineKey, claims({ sub: 'inline-user' }))));
    expect(seen['x-auth-subject']).toBe('inline-user');
    expectInvalidJwt(await call(gw, inlineApiKey, '/x', await signToken(rs, claims())), upstream.received.length);
    expect([idp.hits, trap.hits]).toEqual(hits);
  });

  const corpus: [string, () => Promise<string>][] = [
    ['alg "none" (hand-built, empty signature)', () => Promise.resolve(`${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims({ exp: now() + 300 }))}.`)],
    [
      'HS256 signed with the RSA public key (PEM) as the secret',
      async () => new SignJWT(claims({ exp: now() + 300 })).setProtectedHeader({ alg: 'HS256', kid: rs.kid }).sign(new TextEncoder().encode(await exportSPKI(rs.publicKey))),
    ],
    [
      'HS256 signed with the RSA public key (JWK) as the secret',
      () => new SignJWT(claims({ exp: now() + 300 })).setProtectedHeader({ alg: 'HS256', kid: rs.kid }).sign(new TextEncoder().encode(JSON.stringify(rs.jwk))),
    ],
    ['an attacker key with an unknown kid', () => signToken(attacker, claims())],
    ['an attacker key under a published kid', () => signToken(attacker, claims(), { kid: rs.kid })],
    ['an attacker key embedded in a jwk header', () => signToken(attacker, claims(), { kid: null, header: { jwk: attacker.jwk } })],
    ['a jku header pointing at the attacker key set', () => signToken(attacker, claims(), { header: { jku: trap.jwksUri } })],
    ['an x5u header pointing at the attacker', () => signToken(attacker, claims(), { header: { x5u: trap.jwksUri } })],
    [
      'a tampered payload',
      async () => {
        const [header, , signature] = (await signToken(rs, claims({ sub: 'user-1' }))).split('.');
        return `${header}.${b64(claims({ sub: 'admin', exp: now() + 300 }))}.${signature}`;
      },
    ],
    ['an expired token', () => signToken(rs, claims({ exp: now() - 3600 }), { expiresIn: null })],
    ['nbf in the future beyond the tolerance', () => signToken(rs, claims({ nbf: now() + 3600 }))],
    ['no exp', () => signToken(rs, claims(), { expiresIn: null })],
    ['a wrong issuer', () => signToken(rs, claims({ iss: 'https://evil.test/' }))],
    ['a wrong audience', () => signToken(rs, claims({ aud: 'another-api' }))],
    ['no audience', () => signToken(rs, { iss: ISSUER, sub: 'x' })],
    ['not a JWT', () => Promise.resolve('not-a-jwt')],
    ['two segments', () => Promise.resolve('eyJhbGciOiJSUzI1NiJ9.e30')],
    ['empty segments', () => Promise.resolve('..')],
    ['garbage base64url', () => Promise.resolve('!!!.???.###')],
  ];

  it.each(corpus)('refuses %s: 401 invalid_jwt, upstream never called', async (_label, make) => {
    const before = upstream.received.length;
    const reply = await call(gw, mainKey, '/secure/x', await make());
    expectInvalidJwt(reply, before);
    expect(reply.json.detail).not.toMatch(/eyJ/);
  });

  it('refuses an algorithm outside the tenant allowlist even when the key is published (ES256 on an RS256-only tenant)', async () => {
    expectProxied(await call(gw, rsOnlyKey, '/x', await signToken(rs, claims())));
    expectInvalidJwt(await call(gw, rsOnlyKey, '/x', await signToken(es, claims())), upstream.received.length);
  });

  it('never fetched the key set a token pointed at, nor logged a token', async () => {
    expect(trap.hits).toBe(0);
    const logs = gw.rawLogs();
    for (const token of sentTokens) expect(logs).not.toContain(token);
    expect(gw.logs.some((l) => l.decision === 'deny' && l.reason === 'invalid_jwt')).toBe(true);
  });
});

describe('key rotation and the unknown-kid cooldown', () => {
  const COOLDOWN_MS = 1500;
  let gw: TestGateway;
  let idp: JwksServer;
  let current: SigningKey;
  let apiKey: string;

  beforeAll(async () => {
    current = await makeKey('RS256');
    idp = await jwksServer([current]);
    gw = await gateway({}, { jwksCache: { cooldownMs: COOLDOWN_MS } });
    apiKey = await tenant(gw, 'rotating', { issuer: ISSUER, jwksUri: idp.jwksUri, audience: AUDIENCE });
  });

  it('accepts a key published after the first fetch, without a restart, once the cooldown allows a refetch', async () => {
    expectProxied(await call(gw, apiKey, '/x', await signToken(current, claims())));
    expect(idp.hits).toBe(1);
    const next = await makeKey('RS256');
    idp.publish([current, next]);
    // Within the cooldown the unknown kid is refused without asking the IdP again.
    expectInvalidJwt(await call(gw, apiKey, '/x', await signToken(next, claims())), upstream.received.length);
    expect(idp.hits).toBe(1);
    await sleep(COOLDOWN_MS + 100);
    const seen = expectProxied(await call(gw, apiKey, '/x', await signToken(next, claims({ sub: 'rotated' }))));
    expect(seen['x-auth-subject']).toBe('rotated');
    expect(idp.hits).toBe(2);
    expectProxied(await call(gw, apiKey, '/x', await signToken(current, claims())));
    expect(idp.hits).toBe(2);
  });

  it('makes at most one refetch per cooldown for a burst of tokens with unknown kids', async () => {
    const strangers = await Promise.all(Array.from({ length: 4 }, () => makeKey('ES256')));
    const tokens = await Promise.all(strangers.flatMap((k) => [1, 2, 3, 4, 5].map((n) => signToken(k, claims({ sub: `s${n}` })))));
    await sleep(COOLDOWN_MS + 100);
    const before = { hits: idp.hits, upstream: upstream.received.length };
    const replies = await Promise.all(tokens.map((t) => call(gw, apiKey, '/x', t)));
    for (const reply of replies) expectInvalidJwt(reply, before.upstream);
    expect(idp.hits - before.hits).toBe(1);
    for (const t of tokens.slice(0, 5)) expectInvalidJwt(await call(gw, apiKey, '/x', t), before.upstream);
    expect(idp.hits - before.hits).toBe(1);
  });
});

describe('identity provider outages', () => {
  const TIMEOUT_MS = 300;
  const AGE_MS = 200;
  let gw: TestGateway;
  let key: SigningKey;

  beforeAll(async () => {
    key = await makeKey('ES256');
    gw = await gateway({}, { jwksCache: { timeoutMs: TIMEOUT_MS, cooldownMs: AGE_MS, maxAgeMs: AGE_MS, retryMs: AGE_MS } });
  });

  it('keeps verifying with the cached keys while the IdP fails, times out or is gone', async () => {
    const idp = await jwksServer([key]);
    const apiKey = await tenant(gw, 'cached', { issuer: ISSUER, jwksUri: idp.jwksUri });
    expectProxied(await call(gw, apiKey, '/x', await signToken(key, claims())));
    expect(idp.hits).toBe(1);

    idp.mode = 'error';
    await sleep(AGE_MS + 50);
    expectProxied(await call(gw, apiKey, '/x', await signToken(key, claims())));
    for (let i = 0; i < 50 && idp.hits < 2; i++) await sleep(20);
    expect(idp.hits).toBe(2); // the refetch was tried, failed, and dropped nothing
    expectProxied(await call(gw, apiKey, '/x', await signToken(key, claims())));

    idp.mode = 'hang';
    await sleep(AGE_MS + 50);
    // The refetch hangs in the background; the request does not wait for it.
    expectProxied(await send(gw.url, 'GET', '/api/x', { headers: { 'X-API-Key': apiKey, Authorization: `Bearer ${await signToken(key, claims())}` }, timeoutMs: TIMEOUT_MS }));

    await idp.stop();
    await sleep(AGE_MS + 50);
    expectProxied(await call(gw, apiKey, '/x', await signToken(key, claims())));
    await sleep(50);
    expectProxied(await call(gw, apiKey, '/x', await signToken(key, claims())));

    const failures = gw.logs.filter((l) => l.msg === 'jwks_fetch_failed');
    expect(failures.length).toBeGreaterThanOrEqual(2);
    expect(failures[0]).toMatchObject({ level: 'warn', category: 'system', jwksUri: idp.jwksUri, reason: 'answered HTTP 503' });
  });

  it('answers 503 jwks_unavailable when nothing is cached, and recovers by itself when the IdP returns', async () => {
    const idp = await jwksServer([key]);
    idp.mode = 'error';
    const apiKey = await tenant(gw, 'uncached', { issuer: ISSUER, jwksUri: idp.jwksUri });
    const before = upstream.received.length;

    const failed = await call(gw, apiKey, '/x', await signToken(key, claims()));
    expectProblem(failed, 503, 'jwks_unavailable');
    expect(failed.json.detail).toMatch(/HTTP 503/);

    idp.mode = 'hang';
    await sleep(AGE_MS + 50);
    const timedOut = await call(gw, apiKey, '/x', await signToken(key, claims()));
    expectProblem(timedOut, 503, 'jwks_unavailable');
    expect(timedOut.json.detail).toMatch(/no answer within 300 ms/);
    expect(upstream.received.length).toBe(before);

    idp.mode = 'serve';
    await sleep(AGE_MS + 50);
    expectProxied(await call(gw, apiKey, '/x', await signToken(key, claims())));
  });

  it('answers 503 jwks_unavailable when the JWKS host refuses connections', async () => {
    const idp = await jwksServer([key]);
    await idp.stop();
    const apiKey = await tenant(gw, 'refused', { issuer: ISSUER, jwksUri: idp.jwksUri });
    const reply = await call(gw, apiKey, '/x', await signToken(key, claims()));
    expectProblem(reply, 503, 'jwks_unavailable');
    expect(reply.json.detail).toMatch(/connection failed/);
  });
});
