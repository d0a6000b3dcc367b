import { Body, Controller, HttpCode, Inject, Post, Req, UseGuards } from '@nestjs/common';
import type { Request } from 'express';
import { AdminRoute } from '../admin-auth/admin-rights';
import { AdminGuard } from '../admin-auth/admin.guard';
import { principalOf, scopeOf } from '../admin-auth/principal';
import { parseExplainRequest } from './explain-request';
import { ExplainService } from './explain.service';
import type { Explanation } from './explanation.schema';

/** POST /admin/explain (SPEC §6.1): the data plane's decision for a described request, step by step. */
@Controller('admin/explain')
@UseGuards(AdminGuard)
export class ExplainController {
  constructor(@Inject(ExplainService) private readonly explainer: ExplainService) {}

  @Post()
  @AdminRoute('POST /admin/explain')
  @HttpCode(200)
  explain(@Body() body: unknown, @Req() req: Request): Promise<Explanation> {
    return this.explainer.explain(parseExplainRequest(body), scopeOf(principalOf(req)));
  }
}
