import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { errorMessage } from '../errors/error-message';

/** Every JWS algorithm a tenant may allow: asymmetric ones only, so a leaked JWKS never lets anyone sign. */
export const KNOWN_ALGORITHMS: readonly string[] = Object.freeze([
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
]);

/** SPEC §3: with no `idp.algorithms`, every asymmetric algorithm is accepted. */
export const DEFAULT_ALGORITHMS: readonly string[] = KNOWN_ALGORITHMS;

/** Smaller RSA keys are refused by the token library: a set holding one could never verify with it. */
export const MIN_RSA_BITS = 2048;

/** JWK members per key type (RFC 7517/7518/8037); private members are listed apart to name them. */
const JWK_COMMON_MEMBERS = ['kty', 'use', 'key_ops', 'alg', 'kid', 'x5u', 'x5c', 'x5t', 'x5t#S256', 'ext'];
const JWK_PUBLIC_MEMBERS: Record<string, string[]> = { RSA: ['n', 'e'], EC: ['crv', 'x', 'y'], OKP: ['crv', 'x'] };
const JWK_CURVES: Record<string, string[]> = { EC: ['P-256', 'P-384', 'P-521'], OKP: ['Ed25519', 'Ed448'] };
const JWK_PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

/** A problem of one key: `member` names the field at fault, none for the key as a whole. */
export interface JwkProblem {
  member?: string;
  message: string;
}

/** JWS names are case-sensitive; `none` and HMAC get their own message since they are common mistakes. */
export function algorithmProblem(alg: unknown): string | undefined {
  if (typeof alg !== 'string') return 'must be a string';
  if (alg.toLowerCase() === 'none') return '"none" is refused: tokens must be signed';
  if (/^HS\d+$/i.test(alg)) {
    return `${alg} is refused: HMAC algorithms need a shared secret, only public-key algorithms are allowed`;
  }
  if (!KNOWN_ALGORITHMS.includes(alg)) return `must be one of ${KNOWN_ALGORITHMS.join(', ')}`;
  return undefined;
}

/**
 * Everything wrong with one inline JWK (a JSON object): a public RSA, EC or OKP key with the members
 * of its type, none private, usable to verify signatures. Empty when the key is good.
 */
export function jwkProblems(key: Record<string, unknown>): JwkProblem[] {
  const problems: JwkProblem[] = [];
  const kty = field(key, 'kty');
  if (kty === 'oct') {
    problems.push({ member: 'kty', message: 'symmetric ("oct") keys are refused: only public keys (RSA, EC, OKP) are allowed' });
  } else if (typeof kty !== 'string' || !Object.hasOwn(JWK_PUBLIC_MEMBERS, kty)) {
    problems.push({ member: 'kty', message: 'must be one of RSA, EC, OKP' });
  }
  // Without a usable kty the other members cannot be judged, except private ones.
  const typeMembers = typeof kty === 'string' && Object.hasOwn(JWK_PUBLIC_MEMBERS, kty) ? JWK_PUBLIC_MEMBERS[kty] : undefined;
  for (const member of Object.keys(key)) {
    if (JWK_PRIVATE_MEMBERS.includes(member)) {
      problems.push({ member, message: 'is private key material: only public keys are allowed' });
    } else if (typeMembers === undefined || member === 'kty') {
      continue;
    } else if (!JWK_COMMON_MEMBERS.includes(member) && !typeMembers.includes(member)) {
      problems.push({ member, message: `unknown field for a ${String(kty)} key` });
    } else {
      const message = memberProblem(member, field(key, member));
      if (message !== undefined) problems.push({ member, message });
    }
  }
  for (const member of typeMembers ?? []) {
    if (field(key, member) === undefined) problems.push({ member, message: `is required for a ${String(kty)} key` });
  }
  const curves = typeof kty === 'string' && Object.hasOwn(JWK_CURVES, kty) ? JWK_CURVES[kty] : undefined;
  const crv = field(key, 'crv');
  if (curves !== undefined && typeof crv === 'string' && !curves.includes(crv)) {
    problems.push({ member: 'crv', message: `must be one of ${curves.join(', ')}` });
  }
  return problems.length > 0 ? problems : usabilityProblems(key);
}

/** Types per RFC 7517 §4; a key meant for encryption could never verify a signature. */
function memberProblem(member: string, value: unknown): string | undefined {
  if (member === 'key_ops' || member === 'x5c') {
    return Array.isArray(value) && value.every((v) => typeof v === 'string') ? undefined : 'must be an array of strings';
  }
  if (member === 'ext') return typeof value === 'boolean' ? undefined : 'must be a boolean';
  if (typeof value !== 'string' || value === '') return 'must be a non-empty string';
  if (member === 'use' && value !== 'sig') return 'must be "sig": the key verifies token signatures';
  if (member === 'alg') return algorithmProblem(value);
  return undefined;
}

/** Key type and curve each JWS algorithm needs (RFC 7518 §3, RFC 8037). */
function algorithmFits(alg: string, kty: unknown, crv: unknown): boolean {
  if (/^(RS|PS)\d+$/.test(alg)) return kty === 'RSA';
  if (alg === 'ES256') return kty === 'EC' && crv === 'P-256';
  if (alg === 'ES384') return kty === 'EC' && crv === 'P-384';
  if (alg === 'ES512') return kty === 'EC' && crv === 'P-521';
  if (alg === 'EdDSA') return kty === 'OKP';
  return true;
}

/** A key that could never verify a token is a mistake to report now, not a 401 for every client later. */
function usabilityProblems(key: Record<string, unknown>): JwkProblem[] {
  const problems: JwkProblem[] = [];
  const alg = field(key, 'alg');
  if (typeof alg === 'string' && !algorithmFits(alg, field(key, 'kty'), field(key, 'crv'))) {
    problems.push({ member: 'alg', message: `${alg} cannot be used with this key type or curve` });
  }
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey({ key: key as JsonWebKey, format: 'jwk' });
  } catch (err) {
    problems.push({ message: `is not a usable public key (${errorMessage(err)})` });
    return problems;
  }
  const bits = publicKey.asymmetricKeyDetails?.modulusLength;
  if (field(key, 'kty') === 'RSA' && bits !== undefined && bits < MIN_RSA_BITS) {
    problems.push({ message: `is a ${bits}-bit RSA key: at least ${MIN_RSA_BITS} bits are required` });
  }
  return problems;
}

/** Members are strings, booleans or string arrays once checked, so this is a deep copy. */
export function copyJwk(key: Record<string, unknown>): Record<string, unknown> {
  const copy: Record<string, unknown> = {};
  for (const member of Object.keys(key)) {
    const value = key[member];
    copy[member] = Array.isArray(value) ? [...(value as unknown[])] : value;
  }
  return copy;
}

/** Own properties only, so `constructor` or `__proto__` are never read as key material. */
function field(obj: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}
