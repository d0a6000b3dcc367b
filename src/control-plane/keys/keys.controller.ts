import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Patch, Post, Req, UseGuards } from '@nestjs/common';
import type { Request } from 'express';
import { AdminRoute } from '../admin-auth/admin-rights';
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
  @AdminRoute('POST /admin/tenants/:id/keys')
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
  @AdminRoute('GET /admin/tenants/:id/keys')
  list(@Param('id') tenantId: string): Promise<{ keys: KeyView[] }> {
    return this.keys.list(tenantId);
  }

  @Patch(':keyId')
  @AdminRoute('PATCH /admin/tenants/:id/keys/:keyId')
  update(@Param('id') tenantId: string, @Param('keyId') keyId: string, @Body() body: unknown, @Req() req: Request): Promise<KeyView> {
    return this.audit.record(actorOf(req), { action: 'key_update', tenantId, keyId }, () => this.keys.update(tenantId, keyId, body));
  }

  @Delete(':keyId')
  @AdminRoute('DELETE /admin/tenants/:id/keys/:keyId')
  @HttpCode(204)
  async revoke(@Param('id') tenantId: string, @Param('keyId') keyId: string, @Req() req: Request): Promise<void> {
    await this.audit.record(actorOf(req), { action: 'key_revoke', tenantId, keyId }, () => this.keys.revoke(tenantId, keyId));
  }
}
