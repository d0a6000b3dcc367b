import { randomBytes } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AppModule } from './app.module';
import { AdminAuthenticator } from './control-plane/admin-auth/admin-authenticator';
import { methodGateMiddleware } from './control-plane/admin-auth/method-gate';
import { setPrincipal, type Principal } from './control-plane/admin-auth/principal';
import { closeAdminServer, createAdminServer, listenAdminServer, listenerSplitMiddleware } from './http/admin-listener';
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
import { installRequestGate } from './http/request-gate';
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
  if (config.corsOrigins !== null) {
    common.push(corsMiddleware({ origins: config.corsOrigins, allowedHeaders: config.corsAllowedHeaders, maxAgeS: config.corsMaxAge }));
  }
  for (const middleware of common) app.use(middleware);
  if (config.adminPort !== null) app.use(listenerSplitMiddleware());
  // The admin token is checked before a body is read: an unauthenticated request gets 401, never 400/413/415.
  const authenticator = app.get(AdminAuthenticator, { strict: false });
  const gate = (scrape: boolean) =>
    adminGateMiddleware(async (req): Promise<Principal | null> => {
      const principal = await authenticator.authenticate(req, scrape);
      if (principal !== null) setPrincipal(req, principal);
      return principal;
    });
  app.use('/admin', gate(false));
  app.use('/metrics', gate(true));
  app.use(methodGateMiddleware());
  app.use('/admin', jsonBodyMiddleware(ADMIN_BODY_LIMIT));
  await app.init();
  installDataPlaneDispatcher(app, common, logger);
  installRequestGate(app.getHttpServer(), common[0]);
  // The admin listener meets the same request gate (CONNECT, TRACE, Host) as the main one.
  if (config.adminPort !== null) installRequestGate(attachAdminServer(app), common[0]);
  return app;
}

const ADMIN_SERVERS = new WeakMap<NestExpressApplication, Server>();

/** SPEC §17: the second listener, on the same Express app; it closes when the app's own server does. */
function attachAdminServer(app: NestExpressApplication): Server {
  const express = app.getHttpAdapter().getInstance() as (req: IncomingMessage, res: ServerResponse) => void;
  const server = createAdminServer(express);
  ADMIN_SERVERS.set(app, server);
  // Nest's application object is a proxy that ignores assignments, so its close() cannot be wrapped.
  app.getHttpServer().once('close', () => void closeAdminServer(server));
  return server;
}

/** Starts the ADMIN_PORT listener when there is one; its address, or null. */
export function listenAdmin(app: NestExpressApplication, port: number, host: string): Promise<AddressInfo | null> {
  const server = ADMIN_SERVERS.get(app);
  return server === undefined ? Promise.resolve(null) : listenAdminServer(server, port, host);
}

/** Stops the admin listener from accepting (shutdown); in-flight admin requests finish. */
export function stopAdminListener(app: NestExpressApplication): Promise<void> {
  const server = ADMIN_SERVERS.get(app);
  return server === undefined ? Promise.resolve() : closeAdminServer(server);
}
