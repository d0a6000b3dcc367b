import type { BucketState } from '../store.port';
import type { RedisClient } from './redis.client';

/**
 * SPEC §5.2 in one script on one key (gw:{<tenantId>}:bucket, a hash {tokens, ts}), so a take is
 * atomic and one round trip, on a single server or a cluster. It mirrors memory/memory-bucket.ts:
 *   - time is Redis's own (TIME, whole microseconds), so replicas with skewed clocks agree;
 *   - the level is a Lua number (a double) refilled continuously at capacity / window per second and
 *     clamped to the capacity (a lowered limit takes effect at once); a missing or unreadable bucket
 *     is full; time going back (a failover to a lagging clock) refills nothing;
 *   - levels and timestamps are written with %.17g, which round-trips a double exactly (Lua's own
 *     tostring keeps 14 digits: it would round a microsecond timestamp);
 *   - only a take that is admitted writes, and PEXPIRE drops the bucket once it would be full again.
 * ARGV: capacity, windowSeconds, cost (1 = take, 0 = look only). Reply: {allowed 0|1, remaining,
 * resetSeconds (until full), retryAfterSeconds (0 when allowed, else >= 1)}.
 */
const TOKEN_BUCKET_LUA = `
local capacity = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local tokens = capacity
local state = redis.pcall('HMGET', KEYS[1], 'tokens', 'ts')
local foreign = type(state) == 'table' and state.err ~= nil
if not foreign then
  local t, ts = tonumber(state[1]), tonumber(state[2])
  if t ~= nil and ts ~= nil and t == t and ts == ts then
    tokens = t
    if now > ts then tokens = t + (now - ts) * capacity / (window * 1000000) end
    if tokens > capacity then tokens = capacity end
    if tokens < 0 then tokens = 0 end
  end
end
local allowed = 0
if tokens >= 1 then
  allowed = 1
  if cost == 1 then
    tokens = tokens - 1
    if foreign then redis.call('DEL', KEYS[1]) end
    redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens), 'ts', string.format('%.17g', now))
    redis.call('PEXPIRE', KEYS[1], math.max(1, math.ceil((capacity - tokens) * window * 1000 / capacity)))
  end
end
local retry = 0
if allowed == 0 then retry = math.max(1, math.ceil((1 - tokens) * window / capacity)) end
return {allowed, math.floor(tokens), math.ceil((capacity - tokens) * window / capacity), retry}
`;

const COMMAND = 'gwTakeToken';

type BucketReply = [number, number, number, number];
interface WithBucketCommand {
  [COMMAND](key: string, capacity: number, windowSeconds: number, cost: number): Promise<BucketReply>;
}

/**
 * Registers the script on the client. ioredis sends a defined command as EVAL the first time on each
 * connection (each cluster node has its own) and as EVALSHA after that; a NOSCRIPT reply (a restarted
 * or flushed server) resends it as EVAL. So every take is one round trip, and the script text crosses
 * the wire once per connection. Routed by its one key on a cluster.
 */
export function defineTokenBucket(client: RedisClient): void {
  client.defineCommand(COMMAND, { numberOfKeys: 1, lua: TOKEN_BUCKET_LUA });
}

/** Runs the script (defined on the client by defineTokenBucket) against the bucket at `key`. */
export async function takeTokenOn(
  client: RedisClient,
  key: string,
  capacity: number,
  windowSeconds: number,
  cost: 0 | 1,
): Promise<BucketState> {
  const [allowed, remaining, resetSeconds, retryAfterSeconds] = await (client as unknown as WithBucketCommand)[COMMAND](
    key,
    capacity,
    windowSeconds,
    cost,
  );
  return { allowed: allowed === 1, remaining, resetSeconds, retryAfterSeconds };
}
