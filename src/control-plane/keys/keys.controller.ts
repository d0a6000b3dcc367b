import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post, UseGuards } from '@nestjs/common';
import { AdminGuard } from '../admin-auth/admin.guard';
import { KeyAdminService, type CreatedKey, type KeyView } from './key-admin.service';

@Controller('admin/tenants/:id/keys')
@UseGuards(AdminGuard)
export class KeysController {
  constructor(@Inject(KeyAdminService) private readonly keys: KeyAdminService) {}

  @Post()
  @HttpCode(201)
  create(@Param('id') tenantId: string, @Body() body: unknown): Promise<CreatedKey> {
    return this.keys.create(tenantId, body);
  }

  @Get()
  list(@Param('id') tenantId: string): Promise<{ keys: KeyView[] }> {
    return this.keys.list(tenantId);
  }

  @Delete(':keyId')
  @HttpCode(204)
  async revoke(@Param('id') tenantId: string, @Param('keyId') keyId: string): Promise<void> {
    await this.keys.revoke(tenantId, keyId);
  }
}
