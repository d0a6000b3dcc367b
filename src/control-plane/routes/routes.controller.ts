import { Controller, Get, Inject, UseGuards } from '@nestjs/common';
import { AdminGuard } from '../admin-auth/admin.guard';
import { TenantAdminService } from '../tenants/tenant-admin.service';
import { listRoutes, type RouteListing } from './route-listing';

/** GET /admin/routes: what every tenant allows, with its effective JWT requirement (SPEC §6). */
@Controller('admin/routes')
@UseGuards(AdminGuard)
export class RoutesController {
  constructor(@Inject(TenantAdminService) private readonly tenants: TenantAdminService) {}

  @Get()
  async list(): Promise<RouteListing> {
    return listRoutes(await this.tenants.list());
  }
}
