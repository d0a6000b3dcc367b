import 'reflect-metadata';
import cluster from 'node:cluster';
import { createApp, generateAdminToken, listenAdmin, stopAdminListener } from './app.factory';
import { configWarnings, ConfigError, loadConfig, loadDotEnv, logLevelOf } from './config/config.loader';
import type { GatewayConfig } from './config/config.types';
import { errorMessage } from './errors/error-message';
import { drainAndClose } from './lifecycle/shutdown';
import { runPrimary, workerCountOf } from './lifecycle/workers';
import { closeDestination, createLogger, stdoutDestination, type Logger } from './observability/logger';

/** Start-up failures as one JSON `fatal` line, like every other line: a bad configuration names each variable. */
function logStartFailure(logger: Logger, err: unknown): void {
  if (err instanceof ConfigError) {
    const variables = [...new Set(err.problems.map((p) => p.variable))].join(', ');
    logger.fatal({ category: 'system', problems: err.problems }, `invalid configuration: ${variables}`);
  } else {
    // An unreadable .env, a port in use: the reason is the error's message.
    logger.fatal({ category: 'system', err, reason: errorMessage(err) }, 'gateway failed to start');
  }
}

async function serve(config: Readonly<GatewayConfig>, logger: Logger, exit: (code: number) => void): Promise<void> {
  // Set once listening; a signal before that finds nothing to drain.
  const running: { app?: Awaited<ReturnType<typeof createApp>> } = {};
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ category: 'system', signal }, 'signal received');
    if (running.app === undefined) return exit(0);
    const app = running.app;
    Promise.all([stopAdminListener(app), drainAndClose(app, { delayMs: config.shutdownDelayMs, graceMs: config.shutdownGraceMs }, logger)])
      .then(() => {
        logger.info({ category: 'system' }, 'gateway stopped');
        exit(0);
      })
      .catch((err: unknown) => {
        logger.error({ category: 'system', err }, 'shutdown failed');
        exit(1);
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  const created = await createApp(config, logger);
  await created.listen(config.port, config.host);
  const adminAddress = config.adminPort === null ? null : await listenAdmin(created, config.adminPort, config.adminHost);
  running.app = created;
  if (config.redis === null) {
    logger.warn(
      { category: 'system' },
      'no REDIS_URL, REDIS_HOST, REDIS_CLUSTER_NODES or REDIS_SENTINELS: using the embedded in-memory store (one process only; state is lost on exit)',
    );
  }
  const admin = adminAddress === null ? {} : { adminHost: adminAddress.address, adminPort: adminAddress.port };
  logger.info({ category: 'system', host: config.host, port: config.port, ...admin, store: config.redis?.mode ?? 'memory' }, 'gateway started');
}

/** Bootstrap: the logger first (so every line, start-up problems included, is JSON), then config, then the app. */
function main(): void {
  let dotEnvError: unknown;
  try {
    loadDotEnv();
  } catch (err) {
    dotEnvError = err;
  }
  const destination = stdoutDestination({ sharedWithOtherProcesses: cluster.isWorker });
  const level = logLevelOf(process.env);
  const base = createLogger(level, destination);
  // A worker's every line says which worker wrote it (SPEC §11).
  const logger = cluster.isWorker && cluster.worker ? base.child({ worker: cluster.worker.id }) : base;
  // A process that refuses to start says why, even at LOG_LEVEL=silent.
  const fatalLogger = level === 'silent' ? createLogger('fatal', destination) : logger;
  const exit = (code: number) => closeDestination(destination, () => process.exit(code));
  const fail = (err: unknown) => {
    logStartFailure(fatalLogger, err);
    exit(1);
  };
  if (dotEnvError !== undefined) return fail(dotEnvError);

  for (const { variable, suggestion, message } of configWarnings(process.env)) {
    logger.warn({ category: 'system', variable, suggestion }, message);
  }
  let config: Readonly<GatewayConfig>;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    return fail(err);
  }
  if (cluster.isPrimary && workerCountOf(config) > 1) {
    // One generated admin token for every worker, logged once, by the primary.
    return runPrimary(config, logger, config.adminToken ? {} : { ADMIN_TOKEN: generateAdminToken(logger) }, exit);
  }
  // Start-up failures (an unreadable TENANTS_FILE, a port in use) stop the process with the reason.
  serve(config, logger, exit).catch(fail);
}

main();
