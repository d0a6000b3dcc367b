import 'reflect-metadata';
import { createApp } from './app.factory';
import { loadConfig, loadDotEnv } from './config/config.loader';
import { errorMessage } from './errors/error-message';
import { drainAndClose } from './lifecycle/shutdown';
import { closeDestination, createLogger, stdoutDestination } from './observability/logger';

async function bootstrap(): Promise<void> {
  let config;
  try {
    loadDotEnv();
    config = loadConfig(process.env);
  } catch (err) {
    process.stderr.write(`${errorMessage(err)}\n`);
    process.exit(1);
  }
  const destination = stdoutDestination();
  const logger = createLogger(config.logLevel, destination);
  const exit = (code: number) => closeDestination(destination, () => process.exit(code));
  // Set once listening; a signal before that finds nothing to drain.
  const running: { app?: Awaited<ReturnType<typeof createApp>> } = {};
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ category: 'system', signal }, 'signal received');
    if (running.app === undefined) return exit(0);
    drainAndClose(running.app, config.shutdownGraceMs, logger)
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
  running.app = created;
  if (config.redis === null) {
    logger.warn(
      { category: 'system' },
      'no REDIS_URL, REDIS_HOST or REDIS_CLUSTER_NODES: using the embedded in-memory store (one process only; state is lost on exit)',
    );
  }
  logger.info({ category: 'system', host: config.host, port: config.port, store: config.redis?.mode ?? 'memory' }, 'gateway started');
}

bootstrap().catch((err: unknown) => {
  // Startup failures (an unreadable TENANTS_FILE, a port in use) stop the process with the reason.
  const message = errorMessage(err);
  process.stderr.write(`gateway failed to start: ${message}\n`);
  process.exit(1);
});
