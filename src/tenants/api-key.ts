import { createHash, randomBytes } from 'node:crypto';

/** SPEC §4: keys are stored only as the SHA-256 hex of the key. */
export function hashApiKey(apiKey: string): string {
  return createHash('sha256').update(apiKey, 'utf8').digest('hex');
}

/** 256 bits of randomness; the prefix lets secret scanners recognise a leaked key. */
export function generateApiKey(): string {
  return `sgw_${randomBytes(32).toString('base64url')}`;
}

export function generateKeyId(): string {
  return `key_${randomBytes(8).toString('hex')}`;
}

export const SHA256_HEX = /^[0-9a-f]{64}$/;
