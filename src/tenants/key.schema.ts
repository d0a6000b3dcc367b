import * as z from 'zod';
import { normalise, strictObject, validate, type RuleResult, type Validated } from '../config/schema';
import { SHA256_HEX } from './api-key';
import { rateLimitSchema } from './tenant.schema';

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;
const SHA256_MESSAGE = 'must be the 64 hex characters of a SHA-256 digest';
const EXPIRES_MESSAGE = 'must be an RFC 3339 date-time';

/** An RFC 3339 instant in the future, as an ISO string in UTC. */
function futureInstant(value: string): RuleResult<string> {
  const ms = RFC3339.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(ms)) return { ok: false, problems: [EXPIRES_MESSAGE] };
  if (ms <= Date.now()) return { ok: false, problems: ['must be in the future'] };
  return { ok: true, value: new Date(ms).toISOString() };
}

const NAME_MESSAGE = 'must be 1 to 64 printable characters';
/** Printable: no control, format-less surrogate or unassigned code points. */
const PRINTABLE = /^[^\p{Cc}\p{Cs}\p{Cn}]+$/u;

/** SPEC §13: a key's label. */
const nameSchema = z
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

export function validateTokenCreate(body: unknown): Validated<TokenCreateRequest> {
  return validate(TokenCreateSchema, body ?? {});
}
