import { Controller, Get, Inject, Res, UseGuards } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import { Metrics } from '../../observability/metrics';
import { AdminRoute } from '../admin-auth/admin-rights';
import { AdminGuard } from '../admin-auth/admin.guard';

/** SPEC §6/§8: GET /metrics, the Prometheus text exposition of this process (of every worker with WORKERS > 1), behind the admin token. */
@Controller()
export class MetricsController {
  constructor(@Inject(Metrics) private readonly metrics: Metrics) {}

  @Get('metrics')
  @AdminRoute('GET /metrics')
  @UseGuards(AdminGuard)
  async scrape(@Res() res: ServerResponse): Promise<void> {
    const text = await this.metrics.scrape();
    res.statusCode = 200;
    res.setHeader('Content-Type', this.metrics.registry.contentType);
    res.setHeader('Cache-Control', 'no-store');
    res.end(text);
  }
}
