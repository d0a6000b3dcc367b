import { All, Controller, Inject, Req, Res, UseGuards } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { contextOf } from '../../observability/request-context';
import { DATA_PLANE_PIPELINE } from '../pipeline/pipeline';
import { ProxyService } from './proxy.service';

/** The one catch-all of the data plane: every /api request that passed the pipeline is proxied. */
@Controller()
@UseGuards(...DATA_PLANE_PIPELINE)
export class GatewayController {
  constructor(@Inject(ProxyService) private readonly proxy: ProxyService) {}

  // Every /api/* request arrives here as /api (see request-context.middleware); its real path is in ctx.
  @All('api')
  forward(@Req() req: IncomingMessage, @Res() res: ServerResponse): void {
    this.proxy.forward(req, res, contextOf(req));
  }
}
