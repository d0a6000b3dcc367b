import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post, Req, UseGuards } from '@nestjs/common';
import type { Request } from 'express';
import { AdminGuard } from '../admin-auth/admin.guard';
import { actorOf, AdminAudit } from '../audit/admin-audit';
import type { CreatedKey, KeyView } from '../../tenants/key.schema';
import { KeyAdminService } from './key-admin.service';

@Controller('admin/tenants/:id/keys')
@UseGuards(AdminGuard)
export class KeysController {
  constructor(
    @Inject(KeyAdminService) private readonly keys: KeyAdminService,
    @Inject(AdminAudit) private readonly audit: AdminAudit,
  ) {}

  @Post()
  @HttpCode(201)
  create(@Param('id') tenantId: string, @Body() body: unknown, @Req() req: Request): Promise<CreatedKey> {
    return this.audit.record(
      actorOf(req),
      { action: 'key_create', tenantId },
      () => this.keys.create(tenantId, body),
      (created) => ({ keyId: created.keyId }),
    );
  }

  @Get()
  list(@Param('id') tenantId: string): Promise<{ keys: KeyView[] }> {
    return this.keys.list(tenantId);
  }

  @Delete(':keyId')
  @HttpCode(204)
  async revoke(@Param('id') tenantId: string, @Param('keyId') keyId: string, @Req() req: Request): Promise<void> {
    await this.audit.record(actorOf(req), { action: 'key_revoke', tenantId, keyId }, () => this.keys.revoke(tenantId, keyId));
  }
}
