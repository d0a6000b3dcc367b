import { Module } from '@nestjs/common';
import { AdminGuard } from './admin-auth/admin.guard';
import { AdminAudit } from './audit/admin-audit';
import { ExplainController } from './explain/explain.controller';
import { ExplainService } from './explain/explain.service';
import { HealthController } from './health/health.controller';
import { KeyAdminService } from './keys/key-admin.service';
import { KeysController } from './keys/keys.controller';
import { MetricsController } from './metrics/metrics.controller';
import { OpenApiController } from './openapi/openapi.controller';
import { RoutesController } from './routes/routes.controller';
import { TenantAdminService } from './tenants/tenant-admin.service';
import { TenantsController } from './tenants/tenants.controller';

/** /admin/*, /metrics, /healthz, /readyz. Depends on the core only, never on the data plane. */
@Module({
  controllers: [HealthController, TenantsController, KeysController, RoutesController, MetricsController, ExplainController, OpenApiController],
  providers: [AdminGuard, AdminAudit, TenantAdminService, KeyAdminService, ExplainService],
})
export class ControlPlaneModule {}
