import { Body, Controller, HttpCode, Inject, Post, UseGuards } from '@nestjs/common';
import { AdminGuard } from '../admin-auth/admin.guard';
import { parseExplainRequest } from './explain-request';
import { ExplainService } from './explain.service';
import type { Explanation } from './explanation.schema';

/** POST /admin/explain (SPEC §6.1): the data plane's decision for a described request, step by step. */
@Controller('admin/explain')
@UseGuards(AdminGuard)
export class ExplainController {
  constructor(@Inject(ExplainService) private readonly explainer: ExplainService) {}

  @Post()
  @HttpCode(200)
  explain(@Body() body: unknown): Promise<Explanation> {
    return this.explainer.explain(parseExplainRequest(body));
  }
}
