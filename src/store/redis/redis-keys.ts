import { byCreatedAt, expiryOf, parseKeyRecord, withChanges } from '../key-record.util';
import type { KeyChanges, KeyRecord } from '../store.port';
import { keyBucketKey, keyIdsKey, keysKey, mappingKey } from './layout';
import type { RedisClient } from './redis.client';

/** Deletes a mapping only while it still names this tenant: a hash re-registered elsewhere is not ours to drop. */
export const DEL_IF_OWNED = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";

/**
 * The record of the tenant's key with hash ARGV[1], through the hash -> keyId index. Records written
 * before the index existed are found by their `hash` field once, and indexed then.
 * KEYS: gw:{<id>}:keyIds, gw:{<id>}:keys.
 */
const KEY_BY_HASH = `
local id = redis.call('HGET', KEYS[1], ARGV[1])
if id then
  local record = redis.call('HGET', KEYS[2], id)
  if record then return record end
end
local all = redis.call('HGETALL', KEYS[2])
for i = 1, #all, 2 do
  local ok, record = pcall(cjson.decode, all[i + 1])
  if ok and type(record) == 'table' and record.hash == ARGV[1] then
    redis.call('HSET', KEYS[1], ARGV[1], all[i])
    return all[i + 1]
  end
end
return false
`;

/** Replaces a record only if it is still the one read (compare-and-set); KEYS: gw:{<id>}:keys; ARGV: keyId, old, new. */
const SWAP_RECORD = `
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1
`;

/**
 * Moves a mapping's expiry (ARGV[2]: epoch ms, or '' for none). A mapping gone (it expired) comes back;
 * one that names another tenant now is left alone. KEYS: the mapping; ARGV[1]: the tenant id.
 */
const SET_MAPPING_EXPIRY = `
local owner = redis.call('GET', KEYS[1])
if owner == false then
  if ARGV[2] == '' then redis.call('SET', KEYS[1], ARGV[1]) else redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[2]) end
elseif owner == ARGV[1] then
  if ARGV[2] == '' then redis.call('PERSIST', KEYS[1]) else redis.call('PEXPIREAT', KEYS[1], ARGV[2]) end
end
return 1
`;

/** A concurrent PATCH of the same key makes a compare-and-set fail: read again, this many times at most. */
const SWAP_ATTEMPTS = 10;

export async function addKeyOn(client: RedisClient, tenantId: string, record: KeyRecord): Promise<void> {
  const expiresAtMs = expiryOf(record);
  // Metadata first: failing in between leaves a listed key that does not work, never an unrevocable working one.
  await client.hset(keysKey(tenantId), record.keyId, JSON.stringify(record));
  await client.hset(keyIdsKey(tenantId), record.hash, record.keyId);
  const key = mappingKey(record.hash);
  if (expiresAtMs === null) await client.set(key, tenantId);
  else await client.set(key, tenantId, 'PXAT', expiresAtMs);
}

export async function listKeysOn(client: RedisClient, tenantId: string): Promise<KeyRecord[]> {
  const all = await client.hgetall(keysKey(tenantId));
  const records: KeyRecord[] = [];
  for (const json of Object.values(all)) {
    const record = parseKeyRecord(json);
    if (record) records.push(record);
  }
  return records.sort(byCreatedAt);
}

export async function keyByHashOn(client: RedisClient, tenantId: string, hash: string): Promise<KeyRecord | null> {
  const json = (await client.eval(KEY_BY_HASH, 2, keyIdsKey(tenantId), keysKey(tenantId), hash)) as string | null;
  return json === null ? null : parseKeyRecord(json);
}

export async function updateKeyOn(client: RedisClient, tenantId: string, keyId: string, changes: KeyChanges): Promise<KeyRecord | null> {
  for (let attempt = 0; attempt < SWAP_ATTEMPTS; attempt++) {
    const json = await client.hget(keysKey(tenantId), keyId);
    const record = json === null ? null : parseKeyRecord(json);
    if (json === null || record === null) return null;
    const next = withChanges(record, changes);
    if ((await client.eval(SWAP_RECORD, 1, keysKey(tenantId), keyId, json, JSON.stringify(next))) !== 1) continue;
    if (changes.expiresAt !== undefined) {
      const expiresAtMs = expiryOf(next);
      await client.eval(SET_MAPPING_EXPIRY, 1, mappingKey(next.hash), tenantId, expiresAtMs === null ? '' : String(expiresAtMs));
    }
    return next;
  }
  throw new Error(`key ${keyId} kept changing under ${SWAP_ATTEMPTS} attempts to update it`);
}

export async function removeKeyOn(client: RedisClient, tenantId: string, keyId: string): Promise<KeyRecord | null> {
  const json = await client.hget(keysKey(tenantId), keyId);
  if (json === null) return null;
  const record = parseKeyRecord(json);
  if (record) {
    await client.eval(DEL_IF_OWNED, 1, mappingKey(record.hash), tenantId);
    await client.hdel(keyIdsKey(tenantId), record.hash);
  }
  await client.hdel(keysKey(tenantId), keyId);
  await client.del(keyBucketKey(tenantId, keyId));
  return record;
}

/** A tenant's key mappings it still owns, then its own gw:{<id>}:* keys (one slot: one DEL). */
export async function deleteKeysOf(client: RedisClient, tenantId: string): Promise<void> {
  const records = (await client.hvals(keysKey(tenantId))).map(parseKeyRecord).flatMap((record) => (record ? [record] : []));
  // Mappings live in other slots than the tenant's own keys: one single-key command each (pipelined by ioredis).
  await Promise.all(records.map((record) => client.eval(DEL_IF_OWNED, 1, mappingKey(record.hash), tenantId)));
  await client.del(keysKey(tenantId), keyIdsKey(tenantId), ...records.map((record) => keyBucketKey(tenantId, record.keyId)));
}
