import { errors, jwtVerify } from 'jose';
import { JwksCache, JwksUnavailableError, type JwksCacheOptions } from '../../src/policy/steps/jwt/jwks-cache';
import { makeKey, signToken, startJwksServer, type JwksServer, type SigningKey } from '../support/jwks-server';

/*
 * The remote key-set cache against a real JWKS server, with the cache's clock in the test's hands:
 * cooldowns and ages are moved past by setting `clock`, never by waiting. Hits on the server are
 * the fetches the cache made.
 */

const COOLDOWN = 30_000;
const MAX_AGE = 600_000;
const RETRY = 1_000;

let clock = 1_000_000;
let servers: JwksServer[] = [];
let k1: SigningKey;
let k2: SigningKey;
let stranger: SigningKey;

function cacheWith(options: Partial<JwksCacheOptions> = {}) {
  const events: { event: string; reason?: string }[] = [];
  const cache = new JwksCache(
    { cooldownMs: COOLDOWN, maxAgeMs: MAX_AGE, retryMs: RETRY, timeoutMs: 2_000, now: () => clock, ...options },
    (event, detail) => events.push({ event, reason: detail.reason }),
  );
  return { cache, events };
}

async function server(keys: SigningKey[]): Promise<JwksServer> {
  const s = await startJwksServer(keys);
  servers.push(s);
  return s;
}

/** Verifies a token signed by `key` with the cache's key function for `uri`; resolves to the outcome's name. */
async function outcome(cache: JwksCache, uri: string, key: SigningKey): Promise<string> {
  try {
    await jwtVerify(await signToken(key, { sub: 's' }), cache.keysFor(uri));
    return 'ok';
  } catch (err) {
    if (err instanceof JwksUnavailableError) return 'unavailable';
    if (err instanceof errors.JWKSNoMatchingKey) return 'no_matching_key';
    throw err;
  }
}

/** Lets a background refetch started by the last call finish (it is one local HTTP round trip). */
async function settle(s: JwksServer, hits: number): Promise<void> {
  for (let i = 0; i < 200 && s.hits < hits; i++) await new Promise((r) => setTimeout(r, 10));
  await new Promise((r) => setTimeout(r, 20));
}

beforeAll(async () => {
  [k1, k2, stranger] = await Promise.all([makeKey('RS256'), makeKey('ES256'), makeKey('RS256')]);
});

afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

describe('JwksCache', () => {
  it('fetches a URI once and serves every later verification from the cache, for every caller', async () => {
    const idp = await server([k1, k2]);
    const { cache } = cacheWith();
    expect(await outcome(cache, idp.jwksUri, k1)).toBe('ok');
    expect(await outcome(cache, idp.jwksUri, k2)).toBe('ok');
    expect(await outcome(cache, idp.jwksUri, k1)).toBe('ok');
    expect(idp.hits).toBe(1);
  });

  it('shares one fetch between concurrent first requests', async () => {
    const idp = await server([k1]);
    idp.delayMs = 50;
    const { cache } = cacheWith();
    const results = await Promise.all(Array.from({ length: 10 }, () => outcome(cache, idp.jwksUri, k1)));
    expect(results).toEqual(Array(10).fill('ok'));
    expect(idp.hits).toBe(1);
  });

  describe('an unknown kid', () => {
    it('is refused without a refetch within the cooldown, then refetched once the cooldown has passed', async () => {
      const idp = await server([k1]);
      const { cache } = cacheWith();
      expect(await outcome(cache, idp.jwksUri, k1)).toBe('ok');
      idp.publish([k1, k2]); // the IdP rotates a new key in
      clock += COOLDOWN - 1;
      expect(await outcome(cache, idp.jwksUri, k2)).toBe('no_matching_key');
      expect(idp.hits).toBe(1);
      clock += 1;
      expect(await outcome(cache, idp.jwksUri, k2)).toBe('ok');
      expect(idp.hits).toBe(2);
      expect(await outcome(cache, idp.jwksUri, k1)).toBe('ok');
      expect(idp.hits).toBe(2);
    });

    it('makes at most one refetch per cooldown for a burst of tokens with unknown kids', async () => {
      const idp = await server([k1]);
      const { cache } = cacheWith();
      expect(await outcome(cache, idp.jwksUri, k1)).toBe('ok');
      clock += COOLDOWN;
      const strangers = await Promise.all(Array.from({ length: 5 }, () => makeKey('RS256')));
      const burst = await Promise.all(strangers.flatMap((k) => [outcome(cache, idp.jwksUri, k), outcome(cache, idp.jwksUri, k)]));
      expect(burst).toEqual(Array(10).fill('no_matching_key'));
      expect(idp.hits).toBe(2);
      clock += COOLDOWN / 2;
      expect(await outcome(cache, idp.jwksUri, stranger)).toBe('no_matching_key');
      expect(idp.hits).toBe(2);
    });

    it('keeps the cached keys when the refetch fails', async () => {
      const idp = await server([k1]);
      const { cache, events } = cacheWith();
      expect(await outcome(cache, idp.jwksUri, k1)).toBe('ok');
      idp.mode = 'error';
      clock += COOLDOWN;
      expect(await outcome(cache, idp.jwksUri, stranger)).toBe('no_matching_key');
      expect(idp.hits).toBe(2);
      expect(events.at(-1)).toEqual({ event: 'jwks_fetch_failed', reason: 'answered HTTP 503' });
      expect(await outcome(cache, idp.jwksUri, k1)).toBe('ok');
    });
  });

  describe('a cached set older than maxAge', () => {
    it('is refetched in the background while the cached keys keep serving', async () => {
      const idp = await server([k1]);
      const { cache } = cacheWith();
      expect(await outcome(cache, idp.jwksUri, k1)).toBe('ok');
      idp.publish([k2]); // k1 retired
      clock += MAX_AGE;
      expect(await outcome(cache, idp.jwksUri, k1)).toBe('ok');
      await settle(idp, 2);
      expect(idp.hits).toBe(2);
      expect(await outcome(cache, idp.jwksUri, k2)).toBe('ok');
      expect(await outcome(cache, idp.jwksUri, k1)).toBe('no_matching_key');
    });

    it('keeps serving while the IdP is down, retrying at most once per cooldown', async () => {
      const idp = await server([k1]);
      const { cache } = cacheWith();
      expect(await outcome(cache, idp.jwksUri, k1)).toBe('ok');
      await idp.stop();
      clock += MAX_AGE;
      expect(await outcome(cache, idp.jwksUri, k1)).toBe('ok');
      await new Promise((r) => setTimeout(r, 100)); // the refused background refetch ends
      idp.mode = 'error';
      await idp.start();
      clock += COOLDOWN - 1;
      expect(await outcome(cache, idp.jwksUri, k1)).toBe('ok');
      expect(idp.hits).toBe(1);
      clock += 1;
      expect(await outcome(cache, idp.jwksUri, k1)).toBe('ok');
      await settle(idp, 2);
      expect(idp.hits).toBe(2);
      expect(await outcome(cache, idp.jwksUri, k1)).toBe('ok');
    });
  });

  describe('nothing cached', () => {
    it('is unavailable while the IdP fails, retries after retryMs, and recovers', async () => {
      const idp = await server([k1]);
      idp.mode = 'error';
      const { cache } = cacheWith();
      expect(await outcome(cache, idp.jwksUri, k1)).toBe('unavailable');
      expect(await outcome(cache, idp.jwksUri, k1)).toBe('unavailable');
      expect(idp.hits).toBe(1);
      idp.mode = 'serve';
      clock += RETRY;
      expect(await outcome(cache, idp.jwksUri, k1)).toBe('ok');
      expect(idp.hits).toBe(2);
    });

    it.each([
      ['a refused connection', async (s: JwksServer) => s.stop(), /connection failed/],
      ['no answer within the timeout', (s: JwksServer) => void (s.mode = 'hang'), /no answer within 300 ms/],
      ['an answer that is not JSON', (s: JwksServer) => void ((s.mode = 'error'), (s.errorStatus = 200)), /not JSON/],
      ['an answer larger than maxBytes', () => undefined, /larger than 64 bytes/],
    ])('is unavailable on %s, with the reason in the message', async (_label, breakIt, reason) => {
      const idp = await server([k1]);
      await breakIt(idp);
      const { cache } = cacheWith({ timeoutMs: 300, maxBytes: 64 });
      const err = await jwtVerify(await signToken(k1, {}), cache.keysFor(idp.jwksUri)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(JwksUnavailableError);
      expect((err as Error).message).toMatch(reason);
    });

    it('does not follow a redirect', async () => {
      const target = await server([k1]);
      const idp = await server([k1]);
      idp.mode = 'error';
      idp.errorStatus = 302;
      idp.redirectTo = target.jwksUri;
      const { cache } = cacheWith();
      expect(await outcome(cache, idp.jwksUri, k1)).toBe('unavailable');
      expect(target.hits).toBe(0);
    });
  });

  it('bounds the number of cached URIs, evicting the least recently used', async () => {
    const [a, b, c] = await Promise.all([server([k1]), server([k1]), server([k1])]);
    const { cache } = cacheWith({ maxUris: 2 });
    for (const s of [a, b, a, c]) expect(await outcome(cache, s.jwksUri, k1)).toBe('ok');
    expect([a.hits, b.hits, c.hits]).toEqual([1, 1, 1]);
    expect(await outcome(cache, a.jwksUri, k1)).toBe('ok');
    expect(await outcome(cache, b.jwksUri, k1)).toBe('ok');
    expect([a.hits, b.hits, c.hits]).toEqual([1, 2, 1]);
  });
});
