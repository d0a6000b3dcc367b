import { KeyRecord } from './store.port';

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

/** A stored KeyRecord JSON (possibly hand-edited), or null when it is not one. */
export function parseKeyRecord(json: string): KeyRecord | null {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const { keyId, hash, createdAt, expiresAt } = value as Record<string, unknown>;
  if (typeof keyId !== 'string' || typeof hash !== 'string' || typeof createdAt !== 'string') return null;
  if (expiresAt !== null && expiresAt !== undefined && typeof expiresAt !== 'string') return null;
  return { keyId, hash, createdAt, expiresAt: expiresAt ?? null };
}
