import { Controller, Get, UseGuards } from '@nestjs/common';
import { AdminRoute } from '../admin-auth/admin-rights';
import { AdminGuard } from '../admin-auth/admin.guard';
import type { JsonObject } from './operation';
import { openApiDocument } from './operations';

/** GET /admin/openapi.json (SPEC §16): the control plane described from the schemas that validate it. */
@Controller('admin/openapi.json')
@UseGuards(AdminGuard)
export class OpenApiController {
  @Get()
  @AdminRoute('GET /admin/openapi.json')
  document(): JsonObject {
    return openApiDocument();
  }
}
