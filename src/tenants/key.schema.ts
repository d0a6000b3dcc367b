import * as z from 'zod';
import { normalise, strictObject, validate, type RuleResult, type Validated } from '../config/schema';
import { SHA256_HEX } from './api-key';
import { rateLimitSchema } from './tenant.schema';

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;
const SHA256_MESSAGE = 'must be the 64 hex characters of a SHA-256 digest';
const EXPIRES_MESSAGE = 'must be an RFC 3339 date-time';

/** An RFC 3339 instant, as an ISO string in UTC. */
function anyInstant(value: string): RuleResult<string> {
  const ms = RFC3339.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(ms)) return { ok: false, problems: [EXPIRES_MESSAGE] };
  return { ok: true, value: new Date(ms).toISOString() };
}

/** An RFC 3339 instant in the future, as an ISO string in UTC. */
function futureInstant(value: string): RuleResult<string> {
  const instant = anyInstant(value);
  if (instant.ok && Date.parse(instant.value) <= Date.now()) return { ok: false, problems: ['must be in the future'] };
  return instant;
}

/** Any RFC 3339 instant, past ones included, as an ISO string in UTC (a tenants file's key expiry). */
export const instantSchema = z.string({ error: EXPIRES_MESSAGE }).transform(normalise(anyInstant));

const NAME_MESSAGE = 'must be 1 to 64 printable characters';
/** Printable: no control, format-less surrogate or unassigned code points. */
const PRINTABLE = /^[^\p{Cc}\p{Cs}\p{Cn}]+$/u;

/** SPEC §13: a key's label. */
export const nameSchema = z
  .string({ error: NAME_MESSAGE })
  .refine((name) => PRINTABLE.test(name) && [...name].length <= 64, NAME_MESSAGE);

const expiresAtSchema = z.string({ error: EXPIRES_MESSAGE }).transform(normalise(futureInstant));

/**
 * SPEC §6 `POST /admin/tenants/:id/keys`: `{ sha256?, expiresAt?, name?, rateLimit? }`. `sha256` registers an existing
 * key by its hash (lower-cased) instead of generating one; `expiresAt` (null or absent: never) is
 * when the key stops working.
 */
export const KeyCreateSchema = strictObject({
  sha256: z
    .string({ error: SHA256_MESSAGE })
    .transform((hash) => hash.toLowerCase())
    .refine((hash) => SHA256_HEX.test(hash), SHA256_MESSAGE)
    .optional(),
  expiresAt: expiresAtSchema.nullable().default(null),
  name: nameSchema.optional(),
  rateLimit: rateLimitSchema.optional(),
});

export type KeyCreateRequest = z.output<typeof KeyCreateSchema>;

/** A create request; no body at all (or `null`) asks for a generated key that never expires. */
export function validateKeyCreate(body: unknown): Validated<KeyCreateRequest> {
  return validate(KeyCreateSchema, body ?? {});
}

/**
 * SPEC §13 `PATCH /admin/tenants/:id/keys/:keyId`: `{ name?, rateLimit?|null, expiresAt?|null,
 * disabled? }`; an absent field is left as it is, null clears it.
 */
export const KeyPatchSchema = strictObject(
  {
    name: nameSchema.nullable().optional(),
    rateLimit: rateLimitSchema.nullable().optional(),
    expiresAt: expiresAtSchema.nullable().optional(),
    disabled: z.boolean({ error: 'must be true or false' }).optional(),
  },
  'must be a JSON object',
);

export type KeyPatchRequest = z.output<typeof KeyPatchSchema>;

export function validateKeyPatch(body: unknown): Validated<KeyPatchRequest> {
  return validate(KeyPatchSchema, body ?? {});
}

/** SPEC §12 `POST /admin/tenants/:id/tokens`: `{ role, name?, expiresAt? }`. */
export const TokenCreateSchema = strictObject(
  {
    role: z.enum(['admin', 'viewer'], { error: 'must be "admin" or "viewer"' }),
    name: nameSchema.nullable().default(null),
    expiresAt: expiresAtSchema.nullable().default(null),
  },
  'must be a JSON object',
);

export type TokenCreateRequest = z.output<typeof TokenCreateSchema>;

/** SPEC §12: what the admin API shows of a tenant-scoped token; never the token or its hash. */
export const TokenMetadataSchema = z
  .strictObject({
    tokenId: z.string(),
    role: z.enum(['admin', 'viewer']),
    name: z.string().nullable(),
    createdAt: z.string().meta({ format: 'date-time' }),
    expiresAt: z.string().meta({ format: 'date-time' }).nullable().meta({ description: 'When the token stops working; null: never.' }),
    expired: z.boolean().meta({ description: 'expiresAt has passed: the token answers 401 and stays listed until revoked.' }),
  })
  .meta({ description: "A tenant-scoped admin token, by its metadata." });

/** The answer to a create: the metadata and the token itself, shown this once. */
export const CreatedTokenSchema = TokenMetadataSchema.extend({
  token: z.string().meta({ description: 'The new token (sat_...), shown this once; the gateway keeps only its SHA-256.' }),
}).meta({ description: 'A token just issued.' });

export const TokenListSchema = z.strictObject({ tokens: z.array(TokenMetadataSchema) });

export type TokenView = z.output<typeof TokenMetadataSchema>;
export type CreatedToken = z.output<typeof CreatedTokenSchema>;

export function validateTokenCreate(body: unknown): Validated<TokenCreateRequest> {
  return validate(TokenCreateSchema, body ?? {});
}

const instant = () => z.string().meta({ format: 'date-time' });

/** SPEC §6: what the admin API shows of a key; never the key or its full hash. */
export const KeyMetadataSchema = z
  .strictObject({
    keyId: z.string(),
    name: z.string().nullable().meta({ description: 'The key\'s label; null: none.' }),
    createdAt: instant(),
    expiresAt: instant().nullable().meta({ description: 'When the key stops working; null: never.' }),
    expired: z.boolean().meta({ description: 'expiresAt has passed; the key stays listed until revoked.' }),
    disabled: z.boolean().meta({ description: 'Suspended: requests with it answer 403 key_disabled.' }),
    rateLimit: z
      .strictObject({ windowSeconds: z.number().int(), maxRequests: z.number().int() })
      .nullable()
      .meta({ description: 'The key\'s own limit, taken beside the tenant\'s; null: none.' }),
    fingerprint: z
      .string()
      .regex(/^[0-9a-f]{4}$/)
      .meta({ description: 'The last 4 hex characters of the SHA-256 of the key: enough to tell keys apart, useless to an attacker.' }),
  })
  .meta({ description: 'A key of a tenant, by its metadata.' });

/** The answer to a create: the metadata, and the key itself when the gateway generated it (the only time it is shown). */
export const CreatedKeySchema = KeyMetadataSchema.extend({
  apiKey: z.string().optional().meta({ description: 'The new key, shown this once; absent when the key was registered by its sha256.' }),
}).meta({ description: 'A key just created.' });

export const KeyListSchema = z.strictObject({ keys: z.array(KeyMetadataSchema) });

export type KeyView = z.output<typeof KeyMetadataSchema>;
export type CreatedKey = z.output<typeof CreatedKeySchema>;
