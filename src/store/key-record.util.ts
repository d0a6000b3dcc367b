import type { BucketLimit, KeyChanges, KeyRecord, TokenRecord } from './store.port';

/** Epoch ms of a record's expiry, or null; an unparsable date is refused rather than read as "never". */
export function expiryOf(record: KeyRecord): number | null {
  if (record.expiresAt === null) return null;
  const ms = Date.parse(record.expiresAt);
  if (Number.isNaN(ms)) throw new TypeError(`invalid expiresAt: ${record.expiresAt}`);
  return ms;
}

export function isExpired(expiresAtMs: number | null, now: number): boolean {
  return expiresAtMs !== null && expiresAtMs <= now;
}

/** Oldest first by instant (not by string, so mixed precisions sort right); keyId breaks ties. */
export function byCreatedAt(a: KeyRecord, b: KeyRecord): number {
  const diff = (Date.parse(a.createdAt) || 0) - (Date.parse(b.createdAt) || 0);
  if (diff !== 0) return diff;
  return a.keyId < b.keyId ? -1 : a.keyId > b.keyId ? 1 : 0;
}

/** Stored JSON that should be an object (it may have been edited by hand), or null when it is not one. */
function parseObject(json: string): Record<string, unknown> | null {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return null;
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
}

/** A stored KeyRecord JSON (possibly hand-edited), or null when it is not one. */
export function parseKeyRecord(json: string): KeyRecord | null {
  const value = parseObject(json);
  if (value === null) return null;
  const { keyId, hash, createdAt, expiresAt, name, disabled, rateLimit } = value;
  if (typeof keyId !== 'string' || typeof hash !== 'string' || typeof createdAt !== 'string') return null;
  if (expiresAt !== null && expiresAt !== undefined && typeof expiresAt !== 'string') return null;
  const record: KeyRecord = { keyId, hash, createdAt, expiresAt: expiresAt ?? null };
  if (typeof name === 'string') record.name = name;
  // Suspension fails closed: anything but an explicit false on a field that is there reads as disabled.
  if (disabled !== undefined && disabled !== null) record.disabled = disabled !== false;
  const limit = bucketLimitOf(rateLimit);
  if (limit !== null) record.rateLimit = limit;
  return record;
}

/** A stored `rateLimit`, or null when absent or not two positive integers (it is written validated). */
function bucketLimitOf(value: unknown): BucketLimit | null {
  if (typeof value !== 'object' || value === null) return null;
  const { windowSeconds, maxRequests } = value as Record<string, unknown>;
  const positive = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n > 0;
  return positive(windowSeconds) && positive(maxRequests) ? { windowSeconds, maxRequests } : null;
}

/** The record with a PATCH applied (both stores): present fields replace, null clears. */
export function withChanges(record: KeyRecord, changes: KeyChanges): KeyRecord {
  const next: KeyRecord = { ...record };
  if (changes.name !== undefined) next.name = changes.name;
  if (changes.rateLimit !== undefined) next.rateLimit = changes.rateLimit;
  if (changes.expiresAt !== undefined) next.expiresAt = changes.expiresAt;
  if (changes.disabled !== undefined) next.disabled = changes.disabled;
  return next;
}

/** A stored TokenRecord JSON, or null when it is not one (a token that cannot be read grants nothing). */
export function parseTokenRecord(json: string): TokenRecord | null {
  const value = parseObject(json);
  if (value === null) return null;
  const { tokenId, tenantId, hash, role, name, createdAt, expiresAt } = value;
  if (typeof tokenId !== 'string' || typeof tenantId !== 'string' || typeof hash !== 'string' || typeof createdAt !== 'string') return null;
  if (role !== 'admin' && role !== 'viewer') return null;
  if (expiresAt !== null && typeof expiresAt !== 'string') return null;
  if (name !== null && typeof name !== 'string') return null;
  return { tokenId, tenantId, hash, role, name, createdAt, expiresAt };
}
