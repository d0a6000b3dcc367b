import { parseTokenRecord } from '../key-record.util';
import type { TokenRecord } from '../store.port';
import { tokenKey, tokensKey } from './layout';
import type { RedisClient } from './redis.client';

/** Tenant-scoped admin tokens (SPEC §12): the record by tokenId beside the tenant, and by hash for the token check. */

export async function addTokenOn(client: RedisClient, record: TokenRecord): Promise<void> {
  const json = JSON.stringify(record);
  // The listing first: failing in between leaves a listed token that does not work, never an unrevocable working one.
  await client.hset(tokensKey(record.tenantId), record.tokenId, json);
  if (record.expiresAt === null) await client.set(tokenKey(record.hash), json);
  else await client.set(tokenKey(record.hash), json, 'PXAT', Date.parse(record.expiresAt));
}

export async function tokenByHashOn(client: RedisClient, hash: string): Promise<TokenRecord | null> {
  const json = await client.get(tokenKey(hash));
  return json === null ? null : parseTokenRecord(json);
}

export async function listTokensOn(client: RedisClient, tenantId: string): Promise<TokenRecord[]> {
  const all = await client.hvals(tokensKey(tenantId));
  return all
    .map(parseTokenRecord)
    .flatMap((record) => (record ? [record] : []))
    .sort((x, y) => (Date.parse(x.createdAt) || 0) - (Date.parse(y.createdAt) || 0) || (x.tokenId < y.tokenId ? -1 : 1));
}

export async function removeTokenOn(client: RedisClient, tenantId: string, tokenId: string): Promise<TokenRecord | null> {
  const json = await client.hget(tokensKey(tenantId), tokenId);
  if (json === null) return null;
  const record = parseTokenRecord(json);
  // The token check reads gw:token:<hash>: it goes first, so a failure half-way leaves the token listed and revocable.
  if (record) await client.del(tokenKey(record.hash));
  await client.hdel(tokensKey(tenantId), tokenId);
  return record;
}

/** Every token of a deleted tenant stops working (SPEC §12). */
export async function deleteTokensOf(client: RedisClient, tenantId: string): Promise<void> {
  const records = (await client.hvals(tokensKey(tenantId))).map(parseTokenRecord);
  await Promise.all(records.flatMap((record) => (record ? [client.del(tokenKey(record.hash))] : [])));
  await client.del(tokensKey(tenantId));
}
