import * as z from 'zod';
import { MUTATION_ACTIONS } from '../../observability/metrics';

const SHA256_HEX = z.string().regex(/^[0-9a-f]{64}$/);

/**
 * SPEC §14: one entry of the tamper-evident audit log, its members in the order they are hashed in.
 * `hash` = SHA-256 hex of `prevHash` + "\n" + JSON.stringify of the entry without `hash`.
 */
export const AuditEntrySchema = z
  .strictObject({
    seq: z.number().int().min(1).meta({ description: 'Counts from 1 without gaps across all replicas.' }),
    time: z.string().meta({ format: 'date-time', description: 'RFC 3339 UTC with milliseconds.' }),
    actor: z.string().meta({ description: '`operator`, or `tenant:<id>/<tokenId>` for a tenant-scoped token.' }),
    action: z.enum(MUTATION_ACTIONS).meta({ description: 'The control_mutations_total action.' }),
    tenantId: z.string().nullable(),
    target: z.string().nullable().meta({ description: 'The key or token id the action was about, else null.' }),
    requestId: z.string(),
    prevHash: SHA256_HEX.meta({ description: "The previous entry's hash; 64 zeros for the first." }),
    hash: SHA256_HEX,
  })
  .meta({ description: 'One audit log entry.' });

export type AuditEntry = z.output<typeof AuditEntrySchema>;

/** `GET /admin/audit`: a page of entries in `seq` order, and where the next page starts. */
export const AuditPageSchema = z
  .strictObject({
    entries: z.array(AuditEntrySchema),
    nextAfterSeq: z.number().int().nullable().meta({ description: 'Pass as afterSeq for the next page; null: this was the last.' }),
  })
  .meta({ description: 'A page of the audit log.' });

/** `GET /admin/audit/verify`: the chain checked from the oldest kept entry to the head. */
export const AuditVerificationSchema = z
  .union([
    z.strictObject({
      ok: z.literal(true),
      entries: z.number().int(),
      firstSeq: z.number().int().nullable(),
      lastSeq: z.number().int().nullable(),
      head: SHA256_HEX.meta({ description: "The newest entry's hash (64 zeros when the log is empty)." }),
    }),
    z.strictObject({
      ok: z.literal(false),
      firstBadSeq: z.number().int().meta({ description: 'The first entry whose hash, link or seq does not hold.' }),
      reason: z.string(),
    }),
  ])
  .meta({ description: 'The result of checking the hash chain.' });

export type VerifyAnswer = z.output<typeof AuditVerificationSchema>;
