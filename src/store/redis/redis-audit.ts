import { AUDIT_ZERO_HASH, type AuditHead } from '../store.port';
import type { RedisClient } from './redis.client';

/** Both in one cluster slot ({audit}), so the append script may touch both. */
const HEAD = 'gw:{audit}:head';
const ENTRIES = 'gw:{audit}:entries';

/** At most this many old entries are trimmed per append, so a lowered AUDIT_MAX_ENTRIES never stalls Redis. */
const TRIM_PER_APPEND = 1000;

/**
 * Compare-and-append (SPEC §14): the entry goes in only when the head is still the one the gateway
 * chained it to, so seq has no gap and no duplicate whatever replica appends. Then the oldest
 * entries past the bound go. KEYS: head, entries. ARGV: expected seq, expected hash, entry JSON,
 * entry hash, max entries, trim bound.
 */
const APPEND = `
local head = redis.call('HMGET', KEYS[1], 'seq', 'hash', 'first')
local seq = tonumber(head[1]) or 0
local hash = head[2] or string.rep('0', 64)
if seq ~= tonumber(ARGV[1]) or hash ~= ARGV[2] then return 0 end
local nextSeq = seq + 1
local first = tonumber(head[3]) or 1
redis.call('HSET', KEYS[2], nextSeq, ARGV[3])
local max = tonumber(ARGV[5])
local trimmed = 0
while nextSeq - first + 1 > max and trimmed < tonumber(ARGV[6]) do
  redis.call('HDEL', KEYS[2], first)
  first = first + 1
  trimmed = trimmed + 1
end
redis.call('HSET', KEYS[1], 'seq', nextSeq, 'hash', ARGV[4], 'first', first)
return 1
`;

export async function auditHeadOn(client: RedisClient): Promise<AuditHead> {
  const [seq, hash, first] = await client.hmget(HEAD, 'seq', 'hash', 'first');
  const last = Number(seq ?? 0);
  return { seq: last, hash: hash ?? AUDIT_ZERO_HASH, first: first === null ? last + 1 : Number(first) };
}

export async function appendAuditOn(
  client: RedisClient,
  expected: { seq: number; hash: string },
  entryJson: string,
  hash: string,
  maxEntries: number,
): Promise<boolean> {
  const reply = await client.eval(APPEND, 2, HEAD, ENTRIES, expected.seq, expected.hash, entryJson, hash, maxEntries, TRIM_PER_APPEND);
  return reply === 1;
}

export async function readAuditOn(client: RedisClient, fromSeq: number, count: number): Promise<(string | null)[]> {
  if (count <= 0) return [];
  const fields = Array.from({ length: count }, (_, i) => String(fromSeq + i));
  return client.hmget(ENTRIES, ...fields);
}
