import { LruCache } from '../../../src/tenants/lru-cache';

const NOW = 1_000_000;

/** The keys still held, probed at a time when nothing has expired. */
function heldKeys(cache: LruCache<string, number>, candidates: string[]): string[] {
  return candidates.filter((key) => cache.get(key, NOW) !== undefined);
}

describe('LruCache', () => {
  it('refuses a bound below 1', () => {
    expect(() => new LruCache<string, number>(0)).toThrow(RangeError);
  });

  it('returns what was set, with its freshUntil and hardExpiry', () => {
    const cache = new LruCache<string, number>(3);
    cache.set('a', 1, NOW + 100, NOW + 500);
    expect(cache.get('a', NOW)).toEqual({ value: 1, freshUntil: NOW + 100, hardExpiry: NOW + 500 });
    expect(cache.get('missing', NOW)).toBeUndefined();
  });

  it('has no hard expiry unless one is given', () => {
    const cache = new LruCache<string, number>(3);
    cache.set('a', 1, NOW + 100);
    expect(cache.get('a', NOW)?.hardExpiry).toBe(Infinity);
    expect(cache.get('a', Number.MAX_SAFE_INTEGER)?.value).toBe(1);
  });

  it('is bounded: the oldest entry is evicted first', () => {
    const cache = new LruCache<string, number>(2);
    cache.set('a', 1, NOW + 100);
    cache.set('b', 2, NOW + 100);
    cache.set('c', 3, NOW + 100);
    expect(cache.size).toBe(2);
    expect(cache.get('a', NOW)).toBeUndefined();
    expect(cache.get('b', NOW)?.value).toBe(2);
    expect(cache.get('c', NOW)?.value).toBe(3);
  });

  it('refreshes recency on get, so the least recently used entry is evicted instead', () => {
    const cache = new LruCache<string, number>(2);
    cache.set('a', 1, NOW + 100);
    cache.set('b', 2, NOW + 100);
    expect(cache.get('a', NOW)?.value).toBe(1);
    cache.set('c', 3, NOW + 100);
    expect(cache.get('b', NOW)).toBeUndefined();
    expect(heldKeys(cache, ['a', 'c'])).toEqual(['a', 'c']);
  });

  it('refreshes recency when an existing key is set again, without growing', () => {
    const cache = new LruCache<string, number>(2);
    cache.set('a', 1, NOW + 100);
    cache.set('b', 2, NOW + 100);
    cache.set('a', 10, NOW + 200);
    expect(cache.size).toBe(2);
    cache.set('c', 3, NOW + 100);
    expect(cache.get('b', NOW)).toBeUndefined();
    expect(cache.get('a', NOW)).toEqual({ value: 10, freshUntil: NOW + 200, hardExpiry: Infinity });
  });

  it('removes an entry once its hardExpiry is reached, and never returns it again', () => {
    const cache = new LruCache<string, number>(3);
    cache.set('a', 1, NOW + 10_000, NOW + 50);
    expect(cache.get('a', NOW + 49)?.value).toBe(1);
    expect(cache.get('a', NOW + 50)).toBeUndefined();
    expect(cache.size).toBe(0);
    // Even asked "in the past", a removed entry is gone.
    expect(cache.get('a', NOW)).toBeUndefined();
  });

  it('returns an entry past freshUntil with its freshUntil, leaving the decision to the caller', () => {
    const cache = new LruCache<string, number>(3);
    cache.set('a', 1, NOW + 10);
    const stale = cache.get('a', NOW + 1_000);
    expect(stale).toEqual({ value: 1, freshUntil: NOW + 10, hardExpiry: Infinity });
    expect(stale!.freshUntil).toBeLessThan(NOW + 1_000);
    expect(cache.size).toBe(1);
  });

  it('deletes one entry', () => {
    const cache = new LruCache<string, number>(3);
    cache.set('a', 1, NOW + 100);
    cache.set('b', 2, NOW + 100);
    cache.delete('a');
    cache.delete('not-there');
    expect(cache.size).toBe(1);
    expect(cache.get('a', NOW)).toBeUndefined();
    expect(cache.get('b', NOW)?.value).toBe(2);
  });

  it('clears every entry', () => {
    const cache = new LruCache<string, number>(3);
    cache.set('a', 1, NOW + 100);
    cache.set('b', 2, NOW + 100);
    cache.clear();
    expect(cache.size).toBe(0);
    expect(heldKeys(cache, ['a', 'b'])).toEqual([]);
  });
});
