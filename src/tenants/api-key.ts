import { hash, randomBytes } from 'node:crypto';

/** SPEC §4: keys are stored only as the SHA-256 hex of the key. */
export function hashApiKey(apiKey: string): string {
  // One-shot: no Hash object per request (the string is hashed as UTF-8).
  return hash('sha256', apiKey, 'hex');
}

/** 256 bits of randomness; the prefix lets secret scanners recognise a leaked key. */
export function generateApiKey(): string {
  return `sgw_${randomBytes(32).toString('base64url')}`;
}

export function generateKeyId(): string {
  return `key_${randomBytes(8).toString('hex')}`;
}

export const SHA256_HEX = /^[0-9a-f]{64}$/;

/** SPEC §12: a tenant-scoped admin token, 256 random bits behind a prefix scanners and the gate recognise. */
export const ADMIN_TOKEN_PREFIX = 'sat_';

export function generateAdminToken(): string {
  return `${ADMIN_TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
}

export function generateTokenId(): string {
  return `tok_${randomBytes(8).toString('hex')}`;
}
