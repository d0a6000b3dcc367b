import { levelNow, MemoryBuckets, takeFrom } from '../../../../src/store/memory/memory-bucket';

const SECOND = 1_000_000;

describe('levelNow', () => {
  it('is full for a missing or unreadable bucket', () => {
    expect(levelNow(undefined, 0, 10, 60)).toBe(10);
    expect(levelNow({ tokens: Number.NaN, atUs: 0 }, 0, 10, 60)).toBe(10);
  });

  it('refills continuously at capacity / window per second, up to the capacity', () => {
    expect(levelNow({ tokens: 0, atUs: 0 }, 3 * SECOND, 10, 60)).toBeCloseTo(0.5, 12);
    expect(levelNow({ tokens: 2, atUs: 0 }, 30 * SECOND, 10, 60)).toBeCloseTo(7, 12);
    expect(levelNow({ tokens: 2, atUs: 0 }, 600 * SECOND, 10, 60)).toBe(10);
  });

  it('clamps a level above a lowered capacity, and refills nothing when time goes back', () => {
    expect(levelNow({ tokens: 8, atUs: 0 }, 0, 5, 60)).toBe(5);
    expect(levelNow({ tokens: 1.5, atUs: 10 * SECOND }, 5 * SECOND, 5, 60)).toBe(1.5);
  });
});

describe('takeFrom', () => {
  it('takes one token and reports what is left and when the bucket is full', () => {
    expect(takeFrom(10, 0, 10, 60, 1)).toEqual({
      state: { allowed: true, remaining: 9, resetSeconds: 6, retryAfterSeconds: 0 },
      next: { tokens: 9, atUs: 0 },
      idleTtlMs: 6000,
    });
  });

  it('refuses below one token with a whole Retry-After of at least 1 s, and stores nothing', () => {
    expect(takeFrom(0.25, 7, 10, 60, 1)).toEqual({
      state: { allowed: false, remaining: 0, resetSeconds: 59, retryAfterSeconds: 5 },
      next: null,
      idleTtlMs: 58_500,
    });
    // 0.999 of a token on a fast bucket: still a whole second.
    expect(takeFrom(0.999, 0, 1000, 1, 1).state.retryAfterSeconds).toBe(1);
  });

  it('only looks with cost 0', () => {
    expect(takeFrom(3, 0, 10, 60, 0)).toMatchObject({ state: { allowed: true, remaining: 3 }, next: null });
    expect(takeFrom(10, 0, 10, 60, 0).state.resetSeconds).toBe(0);
  });
});

describe('MemoryBuckets', () => {
  let now = 0;
  const clock = () => now;
  beforeEach(() => (now = 1_000 * SECOND));

  it('admits the capacity, then refuses until a token has refilled', () => {
    const buckets = new MemoryBuckets(10, clock);
    for (let i = 2; i >= 0; i--) expect(buckets.take('a', 3, 3, 1)).toMatchObject({ allowed: true, remaining: i });
    expect(buckets.take('a', 3, 3, 1)).toMatchObject({ allowed: false, retryAfterSeconds: 1 });
    now += SECOND;
    expect(buckets.take('a', 3, 3, 1)).toMatchObject({ allowed: true, remaining: 0 });
  });

  it('drops a bucket once it is full again, and the least recently used beyond the bound', () => {
    const buckets = new MemoryBuckets(2, clock);
    buckets.take('a', 10, 10, 1);
    buckets.take('b', 10, 10, 1);
    buckets.take('c', 10, 10, 1);
    expect(buckets.size).toBe(2);
    expect(buckets.take('a', 10, 10, 0).remaining).toBe(10);
    expect(buckets.take('c', 10, 10, 0).remaining).toBe(9);
    now += 2 * SECOND;
    buckets.take('d', 10, 10, 1);
    // b and c were full again after 1 s: gone.
    expect(buckets.size).toBe(1);
  });
});
