import { createLocalJWKSet, errors, type CryptoKey, type FlattenedJWSInput, type JSONWebKeySet, type JWSHeaderParameters } from 'jose';
import { LruCache } from '../../../tenants/lru-cache';
import { setThumbprints } from './jwk-thumbprint';

/** The key function `jwtVerify` calls with a token's protected header. */
export type KeyResolver = (header: JWSHeaderParameters, token: FlattenedJWSInput) => Promise<CryptoKey>;

export interface JwksCacheOptions {
  /** Bound on one fetch, connection to last byte. */
  timeoutMs: number;
  /** Minimum time between two fetch attempts of one URI once it has a cached set (unknown-kid and age refetches). */
  cooldownMs: number;
  /** Age after which a cached set is refetched in the background; the cached set keeps serving meanwhile. */
  maxAgeMs: number;
  /** Minimum time between two fetch attempts of a URI that has nothing cached yet (requests in between answer at once). */
  retryMs: number;
  /** How many JWKS URIs are cached at once (least recently used evicted first). */
  maxUris: number;
  /** A larger key-set response is refused: no IdP publishes more than a few keys. */
  maxBytes: number;
  /** Clock, replaceable so that cooldowns can be tested without waiting. */
  now: () => number;
}

const DEFAULT_JWKS_CACHE_OPTIONS: Readonly<JwksCacheOptions> = Object.freeze({
  timeoutMs: 5_000,
  cooldownMs: 30_000,
  maxAgeMs: 10 * 60_000,
  retryMs: 1_000,
  maxUris: 1_000,
  maxBytes: 512 * 1024,
  now: () => Date.now(),
});

/** A key set that could not be fetched while nothing is cached for its URI (SPEC §5.4 jwks_unavailable). */
export class JwksUnavailableError extends Error {
  constructor(reason: string) {
    super(`The identity provider's key set could not be fetched (${reason}).`);
    this.name = 'JwksUnavailableError';
  }
}

/** Reports fetch outcomes: the URI is given without its query string. */
export type JwksCacheListener = (
  event: 'jwks_fetched' | 'jwks_fetch_failed' | 'jwks_fetch_throttled',
  detail: { jwksUri: string; keys?: number; reason?: string },
) => void;

/**
 * The remote JWK Sets of every tenant, one entry per `jwksUri` shared by all tenants naming it,
 * bounded by an LRU. A failed refetch never drops a good cached set: while the IdP is down, tokens
 * signed with known keys keep verifying. Nothing in a token (jku, x5u, jwk, x5c) is ever fetched.
 */
export class JwksCache {
  private readonly options: Readonly<JwksCacheOptions>;
  private readonly sets: LruCache<string, RemoteJwkSet>;

  constructor(
    options: Partial<JwksCacheOptions> = {},
    private readonly listener: JwksCacheListener = () => undefined,
  ) {
    this.options = Object.freeze({ ...DEFAULT_JWKS_CACHE_OPTIONS, ...options });
    this.sets = new LruCache(this.options.maxUris);
  }

  /** The key function for `jwksUri`; keys are fetched on first use. */
  keysFor(jwksUri: string): KeyResolver {
    const now = this.options.now();
    let set = this.sets.get(jwksUri, now)?.value;
    if (set === undefined) {
      set = new RemoteJwkSet(jwksUri, this.options, this.listener);
      this.sets.set(jwksUri, set, Infinity);
    }
    return set.getKey;
  }

  /**
   * The thumbprints of the keys `jwksUri` publishes now, or undefined when nothing is cached for it.
   * Like a key lookup, a use of a set older than its maximum age starts a background refetch, so
   * tokens answered from the verified-token cache still see a key the IdP has dropped.
   */
  currentThumbprints(jwksUri: string): ReadonlySet<string> | undefined {
    return this.sets.get(jwksUri, this.options.now())?.value.currentThumbprints();
  }
}

type LocalSet = ReturnType<typeof createLocalJWKSet>;

/** One URI's key set: the last good set, and when it was fetched and last attempted. */
class RemoteJwkSet {
  private local: LocalSet | undefined;
  private thumbprints: ReadonlySet<string> | undefined;
  private fetchedAt = Number.NEGATIVE_INFINITY;
  private attemptedAt = Number.NEGATIVE_INFINITY;
  private lastFailure = 'not fetched yet';
  private pending: Promise<void> | undefined;
  private readonly logUri: string;

  constructor(
    private readonly uri: string,
    private readonly options: Readonly<JwksCacheOptions>,
    private readonly listener: JwksCacheListener,
  ) {
    const url = new URL(uri);
    this.logUri = url.origin + url.pathname;
  }

  readonly getKey: KeyResolver = async (header, token) => {
    const local = this.local ?? (await this.firstSet());
    this.refreshIfStale();
    try {
      return await local(header, token);
    } catch (err) {
      if (!(err instanceof errors.JWKSNoMatchingKey)) throw err;
      // An unknown kid may mean the IdP rotated its keys: refetch, but at most once per cooldown,
      // since anyone holding an API key can send such tokens.
      if (this.pending === undefined && !this.cooledDown()) {
        this.listener('jwks_fetch_throttled', { jwksUri: this.logUri, reason: 'unknown kid within the refetch cooldown' });
        throw err;
      }
      await this.refresh().catch(() => undefined);
      if (this.local === local) throw err;
      return this.local!(header, token);
    }
  };

  currentThumbprints(): ReadonlySet<string> | undefined {
    if (this.local !== undefined) this.refreshIfStale();
    return this.thumbprints;
  }

  /** Stale-while-revalidate: the caller uses the cached keys; a failure is reported by the listener. */
  private refreshIfStale(): void {
    if (this.pending === undefined && this.elapsed(this.fetchedAt) >= this.options.maxAgeMs && this.cooledDown()) {
      this.refresh().catch(() => undefined);
    }
  }

  private async firstSet(): Promise<LocalSet> {
    if (this.pending === undefined && this.elapsed(this.attemptedAt) < this.options.retryMs) {
      this.listener('jwks_fetch_throttled', { jwksUri: this.logUri, reason: 'failed fetch within the retry delay' });
      throw new JwksUnavailableError(this.lastFailure);
    }
    await this.refresh();
    return this.local!;
  }

  private cooledDown(): boolean {
    return this.elapsed(this.attemptedAt) >= this.options.cooldownMs;
  }

  private elapsed(since: number): number {
    return this.options.now() - since;
  }

  /** One fetch at a time per URI: concurrent callers share it. Rejects with JwksUnavailableError. */
  private refresh(): Promise<void> {
    if (this.pending === undefined) {
      this.pending = this.fetchOnce().finally(() => {
        this.pending = undefined;
      });
    }
    return this.pending;
  }

  private async fetchOnce(): Promise<void> {
    this.attemptedAt = this.options.now();
    try {
      const json = await fetchJson(this.uri, this.options.timeoutMs, this.options.maxBytes);
      let local: LocalSet;
      try {
        local = createLocalJWKSet(json as JSONWebKeySet);
      } catch {
        throw new Error('the response is not a JWK Set');
      }
      this.local = local;
      this.thumbprints = setThumbprints(json as JSONWebKeySet);
      this.fetchedAt = this.options.now();
      this.listener('jwks_fetched', { jwksUri: this.logUri, keys: local.jwks().keys.length });
    } catch (err) {
      this.lastFailure = describeFailure(err, this.options.timeoutMs);
      this.listener('jwks_fetch_failed', { jwksUri: this.logUri, reason: this.lastFailure });
      throw new JwksUnavailableError(this.lastFailure);
    }
  }
}

/** GET with no redirects (a redirect could point the gateway anywhere), bounded in time and size. */
async function fetchJson(uri: string, timeoutMs: number, maxBytes: number): Promise<unknown> {
  const res = await fetch(uri, {
    redirect: 'manual',
    signal: AbortSignal.timeout(timeoutMs),
    headers: { accept: 'application/jwk-set+json, application/json' },
  });
  if (res.status !== 200) {
    await res.body?.cancel();
    throw new Error(`answered HTTP ${res.status}`);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  const body = (res.body ?? []) as AsyncIterable<Uint8Array>;
  // Leaving the loop early cancels the body stream.
  for await (const chunk of body) {
    size += chunk.byteLength;
    if (size > maxBytes) break;
    chunks.push(chunk);
  }
  if (size > maxBytes) throw new Error(`the response is larger than ${maxBytes} bytes`);
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new Error('the response is not JSON');
  }
}

/** A short reason for logs and the 503 detail; never more than the failure's kind. */
function describeFailure(err: unknown, timeoutMs: number): string {
  // Read by shape, not instanceof: fetch's errors (DOMException, TypeError) may come from another realm.
  const { name, message, cause } = (err ?? {}) as { name?: unknown; message?: unknown; cause?: { code?: unknown } };
  if (name === 'TimeoutError' || name === 'AbortError') return `no answer within ${timeoutMs} ms`;
  if (typeof cause?.code === 'string') return `connection failed: ${cause.code}`;
  return typeof message === 'string' && message !== '' ? message : 'unknown error';
}
