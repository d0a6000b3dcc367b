import * as z from 'zod';
import { normalise, strictObject, validate, type RuleResult, type Validated } from '../config/schema';
import { SHA256_HEX } from './api-key';

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

/**
 * SPEC §6 `POST /admin/tenants/:id/keys`: `{ sha256?, expiresAt? }`. `sha256` registers an existing
 * key by its hash (lower-cased) instead of generating one; `expiresAt` (null or absent: never) is
 * when the key stops working.
 */
export const KeyCreateSchema = strictObject({
  sha256: z
    .string({ error: SHA256_MESSAGE })
    .transform((hash) => hash.toLowerCase())
    .refine((hash) => SHA256_HEX.test(hash), SHA256_MESSAGE)
    .optional(),
  expiresAt: z.string({ error: EXPIRES_MESSAGE }).transform(normalise(futureInstant)).nullable().default(null),
});

export type KeyCreateRequest = z.output<typeof KeyCreateSchema>;

/** A create request; no body at all (or `null`) asks for a generated key that never expires. */
export function validateKeyCreate(body: unknown): Validated<KeyCreateRequest> {
  return validate(KeyCreateSchema, body ?? {});
}

const instant = () => z.string().meta({ format: 'date-time' });

/** SPEC §6: what the admin API shows of a key; never the key or its full hash. */
export const KeyMetadataSchema = z
  .strictObject({
    keyId: z.string(),
    createdAt: instant(),
    expiresAt: instant().nullable().meta({ description: 'When the key stops working; null: never.' }),
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
