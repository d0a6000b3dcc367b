import type { INestApplication } from '@nestjs/common';
import type { Server } from 'node:http';
import type { Logger } from '../observability/logger';
import { Lifecycle } from './lifecycle.service';

/**
 * SPEC §10: /readyz turns 503 at once, the listener stops accepting, in-flight requests finish
 * (up to `graceMs`), then the app closes (store, agents). Resolves true when everything drained.
 */
export async function drainAndClose(app: INestApplication, graceMs: number, logger: Logger): Promise<boolean> {
  const lifecycle = app.get(Lifecycle);
  lifecycle.beginShutdown();
  const server = app.getHttpServer() as Server;
  logger.info({ category: 'system', inFlight: lifecycle.inFlight, graceMs }, 'shutting down: draining');
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const drained = await lifecycle.waitForIdle(graceMs);
  if (!drained) logger.warn({ category: 'system', inFlight: lifecycle.inFlight }, 'grace period over: closing connections');
  server.closeAllConnections();
  await closed;
  await app.close();
  return drained;
}
