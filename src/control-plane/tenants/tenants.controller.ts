import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post, Put, Res, UseGuards } from '@nestjs/common';
import type { Response } from 'express';
import { AdminGuard } from '../admin-auth/admin.guard';
import { TenantAdminService, type TenantListing } from './tenant-admin.service';
import type { Tenant } from '../../tenants/tenant.model';

@Controller('admin/tenants')
@UseGuards(AdminGuard)
export class TenantsController {
  constructor(@Inject(TenantAdminService) private readonly tenants: TenantAdminService) {}

  @Get()
  list(): Promise<TenantListing> {
    return this.tenants.list();
  }

  @Post()
  @HttpCode(201)
  create(@Body() body: unknown): Promise<Tenant> {
    return this.tenants.create(body);
  }

  @Get(':id')
  get(@Param('id') id: string): Promise<Tenant> {
    return this.tenants.get(id);
  }

  @Put(':id')
  async replace(
    @Param('id') id: string,
    @Body() body: unknown,
    @Res({ passthrough: true }) res: Response,
  ): Promise<Tenant> {
    const { tenant, created } = await this.tenants.replace(id, body);
    res.status(created ? 201 : 200);
    return tenant;
  }

  @Delete(':id')
  @HttpCode(204)
  async remove(@Param('id') id: string): Promise<void> {
    await this.tenants.delete(id);
  }
}
