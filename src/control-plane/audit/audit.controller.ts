import { Controller, Get, Inject, Query, Req, UseGuards } from '@nestjs/common';
import type { Request } from 'express';
import { invalidRequest, tenantNotFound, type ValidationIssue } from '../../errors/gateway-error';
import { isTenantId } from '../../tenants/tenant.schema';
import { AdminRoute } from '../admin-auth/admin-rights';
import { AdminGuard } from '../admin-auth/admin.guard';
import { principalOf, scopeOf } from '../admin-auth/principal';
import type { AuditEntry } from './audit-chain';
import type { VerifyAnswer } from './audit-entry.schema';
import { AuditLog } from './audit-log';

const MAX_LIMIT = 1000;
const DEFAULT_LIMIT = 100;

/** A query parameter as a whole number within bounds; a repeated or malformed one is a problem. */
function wholeNumber(value: unknown, name: string, min: number, max: number, fallback: number, problems: ValidationIssue[]): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !/^\d{1,16}$/.test(value) || Number(value) < min || Number(value) > max) {
    problems.push({ path: name, message: `must be a whole number from ${min} to ${max}` });
    return fallback;
  }
  return Number(value);
}

/** SPEC §14: the audit log, read page by page, and its verification. */
@Controller('admin/audit')
@UseGuards(AdminGuard)
export class AuditController {
  constructor(@Inject(AuditLog) private readonly log: AuditLog) {}

  /** `?tenantId=&afterSeq=&limit=`; a tenant token reads its own tenant's entries only. */
  @Get()
  @AdminRoute('GET /admin/audit')
  list(@Query() query: Record<string, unknown>, @Req() req: Request): Promise<{ entries: AuditEntry[]; nextAfterSeq: number | null }> {
    const problems: ValidationIssue[] = [];
    const afterSeq = wholeNumber(query.afterSeq, 'afterSeq', 0, Number.MAX_SAFE_INTEGER, 0, problems);
    const limit = wholeNumber(query.limit, 'limit', 1, MAX_LIMIT, DEFAULT_LIMIT, problems);
    const named = query.tenantId;
    if (named !== undefined && (typeof named !== 'string' || !isTenantId(named))) problems.push({ path: 'tenantId', message: 'must be a tenant id' });
    for (const key of Object.keys(query)) if (!['tenantId', 'afterSeq', 'limit'].includes(key)) problems.push({ path: key, message: 'is not a parameter of this route' });
    if (problems.length > 0) throw invalidRequest(problems);
    const scope = scopeOf(principalOf(req));
    const tenantId = typeof named === 'string' ? named : null;
    if (scope !== null && tenantId !== null && tenantId !== scope) throw tenantNotFound(tenantId);
    return this.log.list(scope ?? tenantId, afterSeq, limit);
  }

  @Get('verify')
  @AdminRoute('GET /admin/audit/verify')
  verify(): Promise<VerifyAnswer> {
    return this.log.verify();
  }
}
