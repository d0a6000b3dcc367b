import { Module } from '@nestjs/common';
import { DATA_PLANE_PIPELINE } from './pipeline/pipeline';
import { ProxyService } from './proxy/proxy.service';

/**
 * ANY /api/*: the pipeline's guards, then the streaming proxy, served by DataPlaneDispatcher ahead
 * of Express (no Nest route). Depends on the core only.
 */
@Module({
  providers: [ProxyService, ...DATA_PLANE_PIPELINE],
})
export class DataPlaneModule {}
