import * as z from 'zod';
import { component, type Operation } from '../openapi/operation';
import { AuditPageSchema, AuditVerificationSchema } from './audit-entry.schema';

const AuditPage = component('AuditPage', AuditPageSchema);
const AuditVerification = component('AuditVerification', AuditVerificationSchema);

export const AUDIT_OPERATIONS: readonly Operation[] = [
  {
    method: 'get',
    path: '/admin/audit',
    operationId: 'listAudit',
    tag: 'audit',
    summary: 'The audit log, page by page in seq order; a tenant token reads its own tenant only',
    query: {
      tenantId: z.string().optional().meta({ description: "Only this tenant's entries." }),
      afterSeq: z.string().regex(/^\d+$/).optional().meta({ description: 'Entries after this seq (default 0: from the oldest kept).' }),
      limit: z.string().regex(/^\d+$/).optional().meta({ description: 'At most this many entries, 1 to 1000 (default 100).' }),
    },
    responses: { 200: { description: 'A page of entries', body: AuditPage } },
    errors: ['invalid_request', 'tenant_not_found'],
    usesStore: true,
  },
  {
    method: 'get',
    path: '/admin/audit/verify',
    operationId: 'verifyAudit',
    tag: 'audit',
    summary: "Check the audit log's hash chain (operator only)",
    responses: { 200: { description: 'The verdict, with the first entry that fails when one does', body: AuditVerification } },
    usesStore: true,
  },
];
