import type { BucketState } from '../store.port';

/**
 * The token bucket of SPEC §5.2 as plain arithmetic, shared by the embedded store and mirrored
 * line for line by the Redis script (redis/token-bucket.ts). Time is in whole microseconds; the
 * level is a float (a double, as in Redis Lua), refilled continuously at capacity / window per second.
 */
export interface BucketLevel {
  tokens: number;
  /** When `tokens` was measured, in microseconds. */
  atUs: number;
}

export interface BucketOutcome {
  state: BucketState;
  /** The level to store after a take, or null when nothing changes (a peek or a refusal). */
  next: BucketLevel | null;
  /** Milliseconds until the stored level would be full again: the bucket may be forgotten then. */
  idleTtlMs: number;
}

/** The level now: a missing or unreadable bucket is full; a lowered capacity clamps it; time going back refills nothing. */
export function levelNow(stored: BucketLevel | undefined, nowUs: number, capacity: number, windowSeconds: number): number {
  if (stored === undefined || !Number.isFinite(stored.atUs) || Number.isNaN(stored.tokens)) return capacity;
  let tokens = stored.tokens;
  if (nowUs > stored.atUs) tokens += ((nowUs - stored.atUs) * capacity) / (windowSeconds * 1_000_000);
  return Math.min(capacity, Math.max(0, tokens));
}

/** Takes `cost` tokens (0 = look without taking) from a bucket holding `tokens` now. */
export function takeFrom(tokens: number, nowUs: number, capacity: number, windowSeconds: number, cost: 0 | 1): BucketOutcome {
  const allowed = tokens >= 1;
  const after = allowed && cost === 1 ? tokens - 1 : tokens;
  const secondsUntil = (level: number): number => ((level - after) * windowSeconds) / capacity;
  return {
    state: {
      allowed,
      remaining: Math.floor(after),
      resetSeconds: Math.ceil(secondsUntil(capacity)),
      retryAfterSeconds: allowed ? 0 : Math.max(1, Math.ceil(secondsUntil(1))),
    },
    next: allowed && cost === 1 ? { tokens: after, atUs: nowUs } : null,
    idleTtlMs: Math.max(1, Math.ceil(((capacity - after) * windowSeconds * 1000) / capacity)),
  };
}

/** A bucket to take from: its id in this store and its size. */
export interface HeldLimit {
  id: string;
  capacity: number;
  windowSeconds: number;
}

interface HeldBucket extends BucketLevel {
  /** Epoch-clock microseconds after which the bucket is full again and can be dropped. */
  idleAtUs: number;
}

/** Microseconds on a clock that never goes back (monotonic, anchored at the process start time). */
const monotonicMicros = (): number => Math.floor((performance.timeOrigin + performance.now()) * 1000);

/**
 * The embedded store's buckets: one process, so a Map is atomic enough. Bounded: a bucket is dropped
 * once it is full again (the same as a missing one), and beyond `maxBuckets` the least recently
 * taken goes first.
 */
export class MemoryBuckets {
  private readonly buckets = new Map<string, HeldBucket>();

  constructor(
    private readonly maxBuckets = 100_000,
    private readonly clockUs: () => number = monotonicMicros,
  ) {}

  get size(): number {
    return this.buckets.size;
  }

  take(tenantId: string, capacity: number, windowSeconds: number, cost: 0 | 1): BucketState {
    return this.takeAll([{ id: tenantId, capacity, windowSeconds }], cost).states[0];
  }

  /**
   * SPEC §13: takes one token from every bucket when each holds one, else from none (one process, so
   * this is atomic as it stands). retryAfterSeconds is the wait until every bucket admits.
   */
  takeAll(buckets: readonly HeldLimit[], cost: 0 | 1): { allowed: boolean; retryAfterSeconds: number; states: BucketState[] } {
    const nowUs = this.clockUs();
    const levels = buckets.map((b) => levelNow(this.current(b.id, nowUs), nowUs, b.capacity, b.windowSeconds));
    const allowed = levels.every((tokens) => tokens >= 1);
    let retryAfterSeconds = 0;
    let wrote = false;
    const states = buckets.map((b, i) => {
      const outcome = takeFrom(levels[i], nowUs, b.capacity, b.windowSeconds, allowed ? cost : 0);
      if (outcome.next !== null) {
        this.store(b.id, outcome.next, nowUs + outcome.idleTtlMs * 1000);
        wrote = true;
      }
      retryAfterSeconds = Math.max(retryAfterSeconds, outcome.state.retryAfterSeconds);
      return outcome.state;
    });
    if (wrote) this.evict(nowUs);
    return { allowed, retryAfterSeconds, states };
  }

  /** The held bucket, or undefined once it is full again (the same as a missing one). */
  private current(id: string, nowUs: number): HeldBucket | undefined {
    const held = this.buckets.get(id);
    if (held !== undefined && nowUs >= held.idleAtUs) {
      this.buckets.delete(id);
      return undefined;
    }
    return held;
  }

  private store(id: string, next: BucketLevel, idleAtUs: number): void {
    let held = this.buckets.get(id);
    if (held === undefined) {
      held = { tokens: next.tokens, atUs: next.atUs, idleAtUs };
    } else {
      // Updated in place: one object per bucket, not one per request.
      held.tokens = next.tokens;
      held.atUs = next.atUs;
      held.idleAtUs = idleAtUs;
      this.buckets.delete(id);
    }
    // Re-inserted at the end: Map order is least recently taken first.
    this.buckets.set(id, held);
  }

  /** Drops every bucket whose id starts with `prefix` (a deleted tenant's keys' buckets). */
  deleteWithPrefix(prefix: string): void {
    for (const id of this.buckets.keys()) if (id.startsWith(prefix)) this.buckets.delete(id);
  }

  delete(tenantId: string): void {
    this.buckets.delete(tenantId);
  }

  /** Drops idle buckets at the old end (a couple per take, so amortized O(1)), then any over the bound. */
  private evict(nowUs: number): void {
    let checked = 0;
    for (const id of this.buckets.keys()) {
      if (checked++ >= 2) break;
      if (nowUs >= this.buckets.get(id)!.idleAtUs) this.buckets.delete(id);
    }
    while (this.buckets.size > this.maxBuckets) {
      const oldest = this.buckets.keys().next().value as string;
      this.buckets.delete(oldest);
    }
  }
}
