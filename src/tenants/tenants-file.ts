import * as z from 'zod';
import { ALWAYS, formatPath, isJsonObject, strictObject, typeMessages, validate } from '../config/schema';
import { errorMessage } from '../errors/error-message';
import type { ValidationIssue } from '../errors/gateway-error';
import { hashApiKey } from './api-key';
import { instantSchema, nameSchema } from './key.schema';
import type { Tenant } from './tenant.model';
import { isTenantId, rateLimitSchema, tenantObjectSchema, type RateLimitPolicy, type TenantSchemaOptions } from './tenant.schema';

/** What a file may say of a key besides the key itself (SPEC §13); absent: left as it is. */
export interface FileKeyFields {
  name?: string;
  rateLimit?: RateLimitPolicy;
  disabled?: boolean;
  /** An ISO instant in UTC; past ones are allowed here (the file does not go invalid with time). */
  expiresAt?: string;
}

export interface TenantsFileEntry {
  tenant: Tenant;
  /** Plain API keys, hashed by the caller before they are stored. */
  apiKeys: string[];
  /** SHA-256 hex of existing keys, lower-cased. */
  apiKeyHashes: string[];
  /** The fields the file gives keys written as objects, by the key's SHA-256. */
  keyFields: Map<string, FileKeyFields>;
}

export type TenantsFileResult = { ok: true; entries: TenantsFileEntry[] } | { ok: false; errors: ValidationIssue[] };

const API_KEY_PATTERN = /^[\x21-\x7e]{16,512}$/;
const HASH_PATTERN = /^[0-9a-fA-F]{64}$/;
// Constant messages: a refused key is never repeated back.
const API_KEY_MESSAGE = 'must be a string of 16 to 512 printable ASCII characters without spaces';
const HASH_MESSAGE = 'must be a SHA-256 hash written as 64 hexadecimal characters';

const isApiKey = (key: unknown): key is string => typeof key === 'string' && API_KEY_PATTERN.test(key);
const isKeyHash = (hash: unknown): hash is string => typeof hash === 'string' && HASH_PATTERN.test(hash);

const ATTRIBUTES = {
  name: nameSchema.optional(),
  rateLimit: rateLimitSchema.optional(),
  disabled: z.boolean({ error: 'must be true or false' }).optional(),
  // Past instants too: the file does not go invalid with time.
  expiresAt: instantSchema.optional(),
};

const apiKeyString = z.string({ error: API_KEY_MESSAGE }).regex(API_KEY_PATTERN, API_KEY_MESSAGE);
const hashString = z
  .string({ error: HASH_MESSAGE })
  .regex(HASH_PATTERN, HASH_MESSAGE)
  .transform((hash) => hash.toLowerCase());

/** A key as a string, or as an object naming it (`key` or `sha256`) with its fields (SPEC §13). */
function keyItem<S extends z.ZodType<string>>(field: 'key' | 'sha256', value: S) {
  const object = strictObject({ [field]: value, ...ATTRIBUTES } as { [K in typeof field]: S } & typeof ATTRIBUTES, `must be a string or an object {"${field}", "name"?, "rateLimit"?, "disabled"?, "expiresAt"?}`);
  return z.unknown().transform((item, ctx): { value: string; fields: FileKeyFields } => {
    const result = typeof item === 'string' ? value.safeParse(item) : object.safeParse(item);
    if (!result.success) {
      for (const issue of result.error.issues) ctx.addIssue({ ...issue });
      return z.NEVER;
    }
    if (typeof result.data === 'string') return { value: result.data, fields: {} };
    const { [field]: named, ...fields } = result.data as Record<string, unknown>;
    return { value: named as string, fields: fields };
  });
}

/** The key lists a TENANTS_FILE entry holds beside the tenant's own fields. */
const KEY_FIELDS = {
  apiKeys: z.array(keyItem('key', apiKeyString)).default(() => []),
  apiKeyHashes: z.array(keyItem('sha256', hashString)).default(() => []),
};

function buildFileSchema(opts: TenantSchemaOptions) {
  return strictObject(
    { tenants: z.array(tenantObjectSchema(opts, KEY_FIELDS), { error: typeMessages('must be an array') }) },
    'must be a JSON object',
  ).superRefine((file, ctx) => {
    if (!isJsonObject(file) || !Array.isArray(file.tenants)) return;
    duplicateIds(file.tenants, ctx);
    duplicateKeys(file.tenants, ctx);
  }, ALWAYS);
}

const FILE_SCHEMAS = { httpsOnly: buildFileSchema({ jwksAllowHttp: false }), httpAllowed: buildFileSchema({ jwksAllowHttp: true }) };

/**
 * SPEC §6: the TENANTS_FILE format, `{"tenants":[{...tenant, "apiKeys":[...], "apiKeyHashes":[...]}]}`.
 * Every tenant is held to the tenant schema (its problems are reported under `tenants[i].`), and every
 * problem in the file is reported at once. Messages never repeat an API key.
 */
export function parseTenantsFile(text: string, opts: TenantSchemaOptions): TenantsFileResult {
  let parsed: unknown;
  try {
    // Editors on some platforms save UTF-8 with a byte order mark, which JSON.parse refuses.
    parsed = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    return { ok: false, errors: [{ path: '', message: `not valid JSON: ${syntaxErrorMessage(err)}` }] };
  }
  const result = validate(opts.jwksAllowHttp ? FILE_SCHEMAS.httpAllowed : FILE_SCHEMAS.httpsOnly, parsed);
  if (!result.ok) return result;
  return {
    ok: true,
    entries: result.value.tenants.map(({ apiKeys, apiKeyHashes, ...tenant }) => {
      const keyFields = new Map<string, FileKeyFields>();
      for (const k of apiKeys) if (Object.keys(k.fields).length > 0) keyFields.set(hashApiKey(k.value), k.fields);
      for (const k of apiKeyHashes) if (Object.keys(k.fields).length > 0) keyFields.set(k.value, k.fields);
      return { tenant, apiKeys: apiKeys.map((k) => k.value), apiKeyHashes: apiKeyHashes.map((k) => k.value), keyFields };
    }),
  };
}

/**
 * The parser's message without the text it quotes around an unexpected token (V8: `Unexpected token
 * 's', ..."apiKeys":[sk_live_…"... is not valid JSON`), which may be part of an API key.
 */
function syntaxErrorMessage(err: unknown): string {
  const message = errorMessage(err);
  return /"[\s\S]*"(\.\.\.)? is not valid JSON$/.test(message) ? 'unexpected token (the text around it is not repeated here)' : message;
}

/** Two entries for one tenant id would overwrite each other. */
function duplicateIds(entries: unknown[], ctx: z.core.$RefinementCtx): void {
  const seen = new Map<string, number>();
  entries.forEach((entry, i) => {
    if (!isJsonObject(entry) || typeof entry.id !== 'string' || !isTenantId(entry.id)) return;
    const first = seen.get(entry.id);
    if (first !== undefined) ctx.addIssue({ code: 'custom', path: ['tenants', i, 'id'], message: `duplicates tenants[${first}].id` });
    else seen.set(entry.id, i);
  });
}

/** One key for two tenants (or twice) would make key -> tenant ambiguous; compared by hash. */
function duplicateKeys(entries: unknown[], ctx: z.core.$RefinementCtx): void {
  const seen = new Map<string, string>();
  entries.forEach((entry, i) => {
    if (!isJsonObject(entry)) return;
    for (const { path, hash } of [...keyHashes(entry, 'apiKeys', i), ...keyHashes(entry, 'apiKeyHashes', i)]) {
      const first = seen.get(hash);
      if (first !== undefined) ctx.addIssue({ code: 'custom', path, message: `is the same API key as ${first}` });
      else seen.set(hash, formatPath(path));
    }
  });
}

/** The hash of every well-formed key an entry lists in `field`, with its path (malformed ones have their own problem). */
function keyHashes(entry: Record<string, unknown>, field: 'apiKeys' | 'apiKeyHashes', index: number): { path: PropertyKey[]; hash: string }[] {
  const items: unknown = entry[field];
  if (!Array.isArray(items)) return [];
  return items.flatMap((listed: unknown, j) => {
    // After parsing, an item is {value, fields}; an item that failed to parse is still as written.
    const item = isJsonObject(listed) ? (listed.value ?? listed[field === 'apiKeys' ? 'key' : 'sha256']) : listed;
    const path = ['tenants', index, field, j];
    if (field === 'apiKeys') return isApiKey(item) ? [{ path, hash: hashApiKey(item) }] : [];
    return isKeyHash(item) ? [{ path, hash: item.toLowerCase() }] : [];
  });
}
