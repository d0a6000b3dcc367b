import { All, Controller, Inject, Req, Res, UseGuards } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { contextOf } from '../../observability/request-context';
import { DATA_PLANE_PIPELINE } from '../pipeline/pipeline';
import { ProxyService } from './proxy.service';

/**
 * The one catch-all of the data plane: every /api request that passed the pipeline is proxied.
 * DataPlaneDispatcher serves this route from its declaration here (guards and handler), ahead of
 * Express; the Express route stays registered as the same declaration.
 */
@Controller()
@UseGuards(...DATA_PLANE_PIPELINE)
export class GatewayController {
  constructor(@Inject(ProxyService) private readonly proxy: ProxyService) {}

  // The real, undecoded path is in ctx (the path step reads ctx.target).
  @All('api{/*path}')
  forward(@Req() req: IncomingMessage, @Res() res: ServerResponse): void {
    this.proxy.forward(req, res, contextOf(req));
  }
}
