import { Controller, Get, Inject, Req, UseGuards } from '@nestjs/common';
import type { Request } from 'express';
import { AdminRoute } from '../admin-auth/admin-rights';
import { AdminGuard } from '../admin-auth/admin.guard';
import { principalOf, scopeOf } from '../admin-auth/principal';
import { TenantAdminService } from '../tenants/tenant-admin.service';
import { listRoutes, type RouteListing } from './route-listing';

/** GET /admin/routes: what every tenant allows, with its effective JWT requirement (SPEC §6). */
@Controller('admin/routes')
@UseGuards(AdminGuard)
export class RoutesController {
  constructor(@Inject(TenantAdminService) private readonly tenants: TenantAdminService) {}

  @Get()
  @AdminRoute('GET /admin/routes')
  async list(@Req() req: Request): Promise<RouteListing> {
    return listRoutes(await this.tenants.list(scopeOf(principalOf(req))));
  }
}
