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
