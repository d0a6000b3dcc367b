import { randomBytes } from 'node:crypto';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AppModule } from './app.module';
import { AdminGuard } from './control-plane/admin-auth/admin.guard';
import type { GatewayConfig } from './config/config.types';
import type { CoreOptions } from './core.module';
import { installDataPlaneDispatcher, type NodeMiddleware } from './data-plane/data-plane.dispatcher';
import { adminGateMiddleware } from './http/admin-gate.middleware';
import { corsMiddleware } from './http/cors.middleware';
import { TRUST_PROXY, type TrustProxy } from './http/forwarded';
import { ADMIN_BODY_LIMIT, jsonBodyMiddleware } from './http/json-body.middleware';
import { Lifecycle } from './lifecycle/lifecycle.service';
import type { Logger } from './observability/logger';
import { Metrics } from './observability/metrics';
import { NestLogger } from './observability/nest-logger';
import { requestContextMiddleware } from './http/request-context.middleware';
import { RequestMetrics } from './observability/request-metrics';

/**
 * Never run with an empty or default admin token: without ADMIN_TOKEN, generate one and log it once,
 * whatever LOG_LEVEL says (even `error` or `silent`): the operator has no other way to learn it.
 */
export function generateAdminToken(logger: Logger): string {
  const adminToken = randomBytes(24).toString('base64url');
  // The one place a secret is logged, on purpose.
  logger.child({}, { level: 'warn' }).warn({ category: 'system', generatedAdminToken: adminToken }, 'ADMIN_TOKEN is not set: generated one for this process');
  return adminToken;
}

function resolveAdminToken(config: Readonly<GatewayConfig>, logger: Logger): Readonly<GatewayConfig> {
  if (config.adminToken) return config;
  return Object.freeze({ ...config, adminToken: generateAdminToken(logger) });
}

/**
 * Builds the gateway exactly as production runs it (main.ts and the e2e tests both call this):
 * Nest parses no /api body, Express adds no X-Powered-By, request context and CORS come before
 * any guard, and /api/* is served by the data plane dispatcher.
 */
export async function createApp(
  config: Readonly<GatewayConfig>,
  logger: Logger,
  tuning: Pick<CoreOptions, 'jwksCache'> = {},
): Promise<NestExpressApplication> {
  const resolved = resolveAdminToken(config, logger);
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot({ config: resolved, logger, ...tuning }), {
    bodyParser: false,
    abortOnError: false,
    logger: new NestLogger(logger),
  });
  app.disable('x-powered-by');
  app.set('etag', false);
  const trust = app.get<TrustProxy>(TRUST_PROXY);
  app.set('trust proxy', trust);
  // What every request meets first, on both paths below.
  const common: NodeMiddleware[] = [requestContextMiddleware(logger, app.get(Lifecycle), new RequestMetrics(app.get(Metrics)), trust)];
  if (config.corsOrigins !== null) common.push(corsMiddleware(config.corsOrigins));
  for (const middleware of common) app.use(middleware);
  // The admin token is checked before a body is read: an unauthenticated request gets 401, never 400/413/415.
  const adminGuard = app.get(AdminGuard, { strict: false });
  const adminGate = adminGateMiddleware((req) => adminGuard.accepts(req));
  app.use('/admin', adminGate);
  app.use('/metrics', adminGate);
  app.use('/admin', jsonBodyMiddleware(ADMIN_BODY_LIMIT));
  await app.init();
  installDataPlaneDispatcher(app, common, logger);
  return app;
}
