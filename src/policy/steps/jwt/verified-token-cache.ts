import { createHash } from 'node:crypto';

/** What a verification proved, and what bounds how long it may be reused. */
export interface VerifiedToken {
  /** The token's `sub` (X-Auth-Subject upstream). */
  subject: string | undefined;
  /** `exp` and `nbf` (epoch seconds), checked against the clock on every hit. */
  exp: number;
  nbf: number | undefined;
  /** The identity provider it was verified against (its settings, serialised); another idp is a miss. */
  idp: string;
  /** RFC 7638 thumbprint of the key that verified it: a key set without it is a miss. */
  keyThumbprint: string;
}

/**
 * SPEC §5 step 4's verified-token cache: a bounded LRU keyed by the token's SHA-256 (the token itself
 * is never held). A hit proves only that these exact bytes verified before; the verifier still checks
 * the clock, the tenant's idp and the current key set before it trusts one.
 */
export class VerifiedTokenCache {
  private readonly entries = new Map<string, VerifiedToken>();

  constructor(readonly maxEntries: number) {}

  static keyOf(token: string): string {
    return createHash('sha256').update(token).digest('base64');
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: string): VerifiedToken | undefined {
    const entry = this.entries.get(key);
    if (entry !== undefined && this.entries.size > 1) {
      // Recency: re-insert at the end of the Map's order.
      this.entries.delete(key);
      this.entries.set(key, entry);
    }
    return entry;
  }

  set(key: string, entry: VerifiedToken): void {
    if (this.maxEntries < 1) return;
    this.entries.delete(key);
    this.entries.set(key, entry);
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }

  delete(key: string): void {
    this.entries.delete(key);
  }
}
