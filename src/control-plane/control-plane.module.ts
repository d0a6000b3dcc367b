import { Module } from '@nestjs/common';
import { AdminAuthenticator } from './admin-auth/admin-authenticator';
import { AdminGuard } from './admin-auth/admin.guard';
import { AdminAudit } from './audit/admin-audit';
import { AuditController } from './audit/audit.controller';
import { AuditLog } from './audit/audit-log';
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
import { TokenAdminService } from './tokens/token-admin.service';
import { TokensController } from './tokens/tokens.controller';

/** /admin/*, /metrics, /healthz, /readyz. Depends on the core only, never on the data plane. */
@Module({
  controllers: [
    HealthController,
    TenantsController,
    KeysController,
    TokensController,
    RoutesController,
    MetricsController,
    ExplainController,
    AuditController,
    OpenApiController,
  ],
  providers: [AdminAuthenticator, AdminGuard, AdminAudit, AuditLog, TenantAdminService, KeyAdminService, TokenAdminService, ExplainService],
})
export class ControlPlaneModule {}
