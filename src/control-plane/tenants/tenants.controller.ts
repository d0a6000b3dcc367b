import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Patch, Post, Put, Req, Res, UseGuards } from '@nestjs/common';
import type { Request, Response } from 'express';
import { AdminRoute } from '../admin-auth/admin-rights';
import { AdminGuard } from '../admin-auth/admin.guard';
import { principalOf, scopeOf } from '../admin-auth/principal';
import { actorOf, AdminAudit } from '../audit/admin-audit';
import { TenantAdminService, type TenantListing } from './tenant-admin.service';
import type { Tenant } from '../../tenants/tenant.model';

const idIn = (body: unknown): unknown => (typeof body === 'object' && body !== null ? (body as { id?: unknown }).id : undefined);

@Controller('admin/tenants')
@UseGuards(AdminGuard)
export class TenantsController {
  constructor(
    @Inject(TenantAdminService) private readonly tenants: TenantAdminService,
    @Inject(AdminAudit) private readonly audit: AdminAudit,
  ) {}

  /** A tenant token sees its own tenant only (SPEC §12). */
  @Get()
  @AdminRoute('GET /admin/tenants')
  list(@Req() req: Request): Promise<TenantListing> {
    return this.tenants.list(scopeOf(principalOf(req)));
  }

  @Post()
  @AdminRoute('POST /admin/tenants')
  @HttpCode(201)
  create(@Body() body: unknown, @Req() req: Request): Promise<Tenant> {
    return this.audit.record(actorOf(req), { action: 'tenant_create', tenantId: idIn(body) }, () => this.tenants.create(body));
  }

  @Get(':id')
  @AdminRoute('GET /admin/tenants/:id')
  get(@Param('id') id: string): Promise<Tenant> {
    return this.tenants.get(id);
  }

  /** Audited as tenant_create when it created the tenant; a PUT that failed changed nothing and is a tenant_update. */
  @Put(':id')
  @AdminRoute('PUT /admin/tenants/:id')
  async replace(
    @Param('id') id: string,
    @Body() body: unknown,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<Tenant> {
    const { tenant, created } = await this.audit.record(
      actorOf(req),
      { action: 'tenant_update', tenantId: id },
      () => this.tenants.replace(id, body),
      (result) => ({ action: result.created ? 'tenant_create' : 'tenant_update' }),
    );
    res.status(created ? 201 : 200);
    return tenant;
  }

  @Patch(':id')
  @AdminRoute('PATCH /admin/tenants/:id')
  patch(@Param('id') id: string, @Body() body: unknown, @Req() req: Request): Promise<Tenant> {
    return this.audit.record(actorOf(req), { action: 'tenant_update', tenantId: id }, () => this.tenants.patch(id, body));
  }

  @Delete(':id')
  @AdminRoute('DELETE /admin/tenants/:id')
  @HttpCode(204)
  async remove(@Param('id') id: string, @Req() req: Request): Promise<void> {
    await this.audit.record(actorOf(req), { action: 'tenant_delete', tenantId: id }, () => this.tenants.delete(id));
  }
}
