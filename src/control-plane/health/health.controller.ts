import { Controller, Get, HttpCode, Inject, Res, UseGuards } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import { Lifecycle } from '../../lifecycle/lifecycle.service';
import { STATE_STORE, type StateStore } from '../../store/store.port';
import { AdminRoute } from '../admin-auth/admin-rights';
import { AdminGuard } from '../admin-auth/admin.guard';

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  res.end(text);
}

/** Liveness and readiness for load balancers (no details), and the control plane's own health. */
@Controller()
export class HealthController {
  constructor(
    @Inject(STATE_STORE) private readonly store: StateStore,
    @Inject(Lifecycle) private readonly lifecycle: Lifecycle,
  ) {}

  @Get('healthz')
  @HttpCode(200)
  healthz(): { status: string } {
    return { status: 'ok' };
  }

  @Get('readyz')
  async readyz(@Res() res: ServerResponse): Promise<void> {
    const ready = !this.lifecycle.shuttingDown && (await this.store.ping());
    sendJson(res, ready ? 200 : 503, { status: ready ? 'ready' : 'unavailable' });
  }

  @Get('admin/health')
  @AdminRoute('GET /admin/health')
  @UseGuards(AdminGuard)
  async adminHealth(@Res() res: ServerResponse): Promise<void> {
    const up = await this.store.ping();
    sendJson(res, up ? 200 : 503, {
      status: up ? 'ok' : 'unavailable',
      plane: 'control',
      store: { kind: this.store.kind, status: up ? 'ready' : 'down' },
    });
  }
}
