import * as z from 'zod';

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
    action: z.string().meta({ description: 'A control_mutations_total action (tenant_create, key_revoke, ...).' }),
    tenantId: z.string().nullable(),
    target: z.string().nullable().meta({ description: 'The key or token id the action was about, else null.' }),
    requestId: z.string(),
    prevHash: SHA256_HEX.meta({ description: "The previous entry's hash; 64 zeros for the first." }),
    hash: SHA256_HEX,
  })
  .meta({ description: 'One audit log entry (SPEC §14).' });

export type AuditEntry = z.output<typeof AuditEntrySchema>;
