/**
 * A bounded LRU with per-entry expiry, on Map insertion order. `get` ignores expiry on purpose:
 * callers decide whether a stale entry is still usable (it is while the store is down).
 */
export interface CacheEntry<V> {
  value: V;
  /** Epoch ms after which the entry should be refreshed from the store. */
  freshUntil: number;
  /** Epoch ms after which the entry must never be used (a key's expiry); Infinity if none. */
  hardExpiry: number;
}

export class LruCache<K, V> {
  private readonly map = new Map<K, CacheEntry<V>>();

  constructor(private readonly maxEntries: number) {
    if (maxEntries < 1) throw new RangeError('maxEntries must be >= 1');
  }

  get size(): number {
    return this.map.size;
  }

  get(key: K, now: number): CacheEntry<V> | undefined {
    const entry = this.map.get(key);
    if (entry === undefined) return undefined;
    if (now >= entry.hardExpiry) {
      this.map.delete(key);
      return undefined;
    }
    // Refresh recency: re-insert at the end of the Map's order.
    this.map.delete(key);
    this.map.set(key, entry);
    return entry;
  }

  set(key: K, value: V, freshUntil: number, hardExpiry = Infinity): void {
    this.map.delete(key);
    this.map.set(key, { value, freshUntil, hardExpiry });
    if (this.map.size > this.maxEntries) {
      const oldest = this.map.keys().next();
      if (!oldest.done) this.map.delete(oldest.value);
    }
  }

  delete(key: K): void {
    this.map.delete(key);
  }

  /** Removes every entry whose value matches; O(n), for rare events such as an invalidation. */
  deleteWhere(matches: (value: V) => boolean): void {
    for (const [key, entry] of this.map) if (matches(entry.value)) this.map.delete(key);
  }

  clear(): void {
    this.map.clear();
  }
}
