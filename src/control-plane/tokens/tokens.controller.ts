import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post, Req, UseGuards } from '@nestjs/common';
import type { Request } from 'express';
import { AdminRoute } from '../admin-auth/admin-rights';
import { AdminGuard } from '../admin-auth/admin.guard';
import { actorOf, AdminAudit } from '../audit/admin-audit';
import type { CreatedToken, TokenView } from '../../tenants/key.schema';
import { TokenAdminService } from './token-admin.service';

/** SPEC §12: the operator issues and revokes a tenant's admin tokens; that tenant's `admin` tokens may list them. */
@Controller('admin/tenants/:id/tokens')
@UseGuards(AdminGuard)
export class TokensController {
  constructor(
    @Inject(TokenAdminService) private readonly tokens: TokenAdminService,
    @Inject(AdminAudit) private readonly audit: AdminAudit,
  ) {}

  @Post()
  @AdminRoute('POST /admin/tenants/:id/tokens')
  @HttpCode(201)
  create(@Param('id') tenantId: string, @Body() body: unknown, @Req() req: Request): Promise<CreatedToken> {
    return this.audit.record(
      actorOf(req),
      { action: 'token_create', tenantId },
      () => this.tokens.create(tenantId, body),
      (created) => ({ tokenId: created.tokenId }),
    );
  }

  @Get()
  @AdminRoute('GET /admin/tenants/:id/tokens')
  list(@Param('id') tenantId: string): Promise<{ tokens: TokenView[] }> {
    return this.tokens.list(tenantId);
  }

  @Delete(':tokenId')
  @AdminRoute('DELETE /admin/tenants/:id/tokens/:tokenId')
  @HttpCode(204)
  async revoke(@Param('id') tenantId: string, @Param('tokenId') tokenId: string, @Req() req: Request): Promise<void> {
    await this.audit.record(actorOf(req), { action: 'token_revoke', tenantId, tokenId }, () => this.tokens.revoke(tenantId, tokenId));
  }
}
