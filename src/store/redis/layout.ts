/**
 * The Redis key names (SPEC §4 and our own). Tenant ids never contain braces, so every gw:{<id>}:* key
 * of one tenant shares one cluster slot and a multi-key script over them is allowed.
 */
export const TENANT_PREFIX = 'tenant:';
export const MAPPING_PREFIX = 'tenant:byApiKey:';
export const tenantKey = (id: string): string => `${TENANT_PREFIX}${id}`;
export const mappingKey = (hash: string): string => `${MAPPING_PREFIX}${hash}`;
export const keysKey = (id: string): string => `gw:{${id}}:keys`;
export const keyIdsKey = (id: string): string => `gw:{${id}}:keyIds`;
export const bucketKey = (id: string): string => `gw:{${id}}:bucket`;
export const keyBucketKey = (id: string, keyId: string): string => `gw:{${id}}:bucket:${keyId}`;
export const tokensKey = (id: string): string => `gw:{${id}}:tokens`;
export const tokenKey = (hash: string): string => `gw:token:${hash}`;
