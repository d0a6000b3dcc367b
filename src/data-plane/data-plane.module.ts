import { Module } from '@nestjs/common';
import { DATA_PLANE_PIPELINE } from './pipeline/pipeline';
import { GatewayController } from './proxy/gateway.controller';
import { ProxyService } from './proxy/proxy.service';

/** ANY /api/*: the pipeline's guards, then the streaming proxy. Depends on the core only. */
@Module({
  controllers: [GatewayController],
  providers: [ProxyService, ...DATA_PLANE_PIPELINE],
})
export class DataPlaneModule {}
