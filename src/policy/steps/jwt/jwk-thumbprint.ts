import { createHash, KeyObject, type JsonWebKey } from 'node:crypto';
import type { CryptoKey, JSONWebKeySet, JWK } from 'jose';

/** RFC 7638 §3.2: the required public members of each key type, in lexicographic order. */
const THUMBPRINT_MEMBERS: Readonly<Record<string, readonly string[]>> = {
  RSA: ['e', 'kty', 'n'],
  EC: ['crv', 'kty', 'x', 'y'],
  OKP: ['crv', 'kty', 'x'],
};

/**
 * The RFC 7638 SHA-256 thumbprint of a public JWK (base64url), or undefined for a key type the
 * gateway never verifies with. The same key material always has the same thumbprint, whatever its
 * `kid`, so new material published under an old `kid` has a new thumbprint.
 */
export function jwkThumbprint(jwk: JWK | JsonWebKey): string | undefined {
  const members = typeof jwk.kty === 'string' ? THUMBPRINT_MEMBERS[jwk.kty] : undefined;
  if (members === undefined) return undefined;
  const required: Record<string, unknown> = {};
  for (const member of members) {
    const value = (jwk as Record<string, unknown>)[member];
    if (typeof value !== 'string') return undefined;
    required[member] = value;
  }
  return createHash('sha256').update(JSON.stringify(required)).digest('base64url');
}

const keyThumbprints = new WeakMap<CryptoKey, string | undefined>();

/** The thumbprint of an imported public key (the one that verified a token), computed once per key. */
export function keyThumbprint(key: CryptoKey): string | undefined {
  if (keyThumbprints.has(key)) return keyThumbprints.get(key);
  let thumbprint: string | undefined;
  try {
    thumbprint = jwkThumbprint(KeyObject.from(key).export({ format: 'jwk' }));
  } catch {
    thumbprint = undefined;
  }
  keyThumbprints.set(key, thumbprint);
  return thumbprint;
}

/** The thumbprints of every key in a set. */
export function setThumbprints(set: JSONWebKeySet): ReadonlySet<string> {
  const thumbprints = new Set<string>();
  for (const jwk of set.keys) {
    const thumbprint = jwkThumbprint(jwk);
    if (thumbprint !== undefined) thumbprints.add(thumbprint);
  }
  return thumbprints;
}
