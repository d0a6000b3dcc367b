import type { BucketState } from '../store.port';
import type { RedisClient } from './redis.client';

/**
 * SPEC §5.2 and §13 in one script over one or two buckets (gw:{<tenantId>}:bucket and a key's own
 * gw:{<tenantId>}:bucket:<keyId>, hashes {tokens, ts} in one cluster slot), so a take is atomic and
 * one round trip, on a single server or a cluster. It mirrors memory/memory-bucket.ts:
 *   - time is Redis's own (TIME, whole microseconds), so replicas with skewed clocks agree;
 *   - each level is a Lua number (a double) refilled continuously at capacity / window per second and
 *     clamped to the capacity (a lowered limit takes effect at once); a missing or unreadable bucket
 *     is full; time going back (a failover to a lagging clock) refills nothing;
 *   - levels and timestamps are written with %.17g, which round-trips a double exactly (Lua's own
 *     tostring keeps 14 digits: it would round a microsecond timestamp);
 *   - a take is admitted only when every bucket holds a token, and then takes one from each; only an
 *     admitted take writes, and PEXPIRE drops a bucket once it would be full again.
 * ARGV: cost (1 = take, 0 = look only), then capacity and windowSeconds per key. Reply: {allowed 0|1,
 * retryAfterSeconds (0 when allowed, else >= 1: until every bucket admits)}, then per key {has a token
 * 0|1, remaining, resetSeconds (until full), retryAfterSeconds (0 when it has a token, else >= 1)}.
 */
const TOKEN_BUCKET_LUA = `
local cost = tonumber(ARGV[1])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local levels, foreign, allowed = {}, {}, 1
for i = 1, #KEYS do
  local capacity, window = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])
  local tokens = capacity
  local state = redis.pcall('HMGET', KEYS[i], 'tokens', 'ts')
  foreign[i] = type(state) == 'table' and state.err ~= nil
  if not foreign[i] then
    local t, ts = tonumber(state[1]), tonumber(state[2])
    if t ~= nil and ts ~= nil and t == t and ts == ts then
      tokens = t
      if now > ts then tokens = t + (now - ts) * capacity / (window * 1000000) end
      if tokens > capacity then tokens = capacity end
      if tokens < 0 then tokens = 0 end
    end
  end
  levels[i] = tokens
  if tokens < 1 then allowed = 0 end
end
local reply, retryAll = {allowed, 0}, 0
for i = 1, #KEYS do
  local capacity, window = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])
  local tokens = levels[i]
  if allowed == 1 and cost == 1 then
    tokens = tokens - 1
    if foreign[i] then redis.call('DEL', KEYS[i]) end
    redis.call('HSET', KEYS[i], 'tokens', string.format('%.17g', tokens), 'ts', string.format('%.17g', now))
    redis.call('PEXPIRE', KEYS[i], math.max(1, math.ceil((capacity - tokens) * window * 1000 / capacity)))
  end
  local has, retry = 1, 0
  if levels[i] < 1 then
    has = 0
    retry = math.max(1, math.ceil((1 - tokens) * window / capacity))
    if retry > retryAll then retryAll = retry end
  end
  reply[#reply + 1] = has
  reply[#reply + 1] = math.floor(tokens)
  reply[#reply + 1] = math.ceil((capacity - tokens) * window / capacity)
  reply[#reply + 1] = retry
end
reply[2] = retryAll
return reply
`;

const COMMAND = 'gwTakeToken';

interface WithBucketCommand {
  [COMMAND](numberOfKeys: number, ...keysAndArgs: (string | number)[]): Promise<number[]>;
}

/**
 * Registers the script on the client. ioredis sends a defined command as EVAL the first time on each
 * connection (each cluster node has its own) and as EVALSHA after that; a NOSCRIPT reply (a restarted
 * or flushed server) resends it as EVAL. So every take is one round trip, and the script text crosses
 * the wire once per connection. Routed by its keys' one slot on a cluster.
 */
export function defineTokenBucket(client: RedisClient): void {
  // numberOfKeys is given per call: one bucket, or the tenant's and the key's.
  client.defineCommand(COMMAND, { lua: TOKEN_BUCKET_LUA });
}

/** One bucket to take from: where it is and its size. */
export interface BucketAt {
  key: string;
  capacity: number;
  windowSeconds: number;
}

/** Runs the script (defined on the client by defineTokenBucket) against the buckets, all in one slot. */
export async function takeTokensOn(
  client: RedisClient,
  buckets: readonly BucketAt[],
  cost: 0 | 1,
): Promise<{ allowed: boolean; retryAfterSeconds: number; states: BucketState[] }> {
  const args: (string | number)[] = buckets.map((b) => b.key);
  args.push(cost);
  for (const b of buckets) args.push(b.capacity, b.windowSeconds);
  const reply = await (client as unknown as WithBucketCommand)[COMMAND](buckets.length, ...args);
  const states: BucketState[] = [];
  for (let i = 0; i < buckets.length; i++) {
    const at = 2 + i * 4;
    states.push({ allowed: reply[at] === 1, remaining: reply[at + 1], resetSeconds: reply[at + 2], retryAfterSeconds: reply[at + 3] });
  }
  return { allowed: reply[0] === 1, retryAfterSeconds: reply[1], states };
}
