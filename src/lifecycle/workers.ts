import cluster, { type Worker } from 'node:cluster';
import { availableParallelism } from 'node:os';
import { Registry } from 'prom-client';
import type { GatewayConfig } from '../config/config.types';
import { answerScrapes } from '../observability/cluster-metrics';
import type { Logger } from '../observability/logger';
import { workerRestartsCounter } from '../observability/metrics';

/**
 * SPEC §11 workers: the primary process forks WORKERS copies of the gateway, which share the port
 * (node:cluster hands each new connection to one of them), and serves nothing itself. It restarts a
 * worker that dies, with backoff and a log line; forwards SIGTERM and SIGINT to every worker (each
 * drains as SPEC §10/§11 say) and exits 0 once all have; and answers the workers' /metrics with the
 * sum over all of them.
 */

export function workerCountOf(config: Readonly<GatewayConfig>): number {
  return config.workers === 'auto' ? availableParallelism() : config.workers;
}

/** A worker that lived this long before dying starts its backoff again from the shortest delay. */
export const STABLE_AFTER_MS = 10_000;
const MAX_RESTART_DELAY_MS = 10_000;

/** The wait before restarting a worker that died `failures` times in a row (each within STABLE_AFTER_MS of its start). */
export function restartDelayMs(failures: number): number {
  return Math.min(100 * 2 ** Math.max(0, failures - 1), MAX_RESTART_DELAY_MS);
}

/** Beyond the drain (delay + grace), how long the primary waits before it SIGKILLs a worker that is still there. */
const STOP_MARGIN_MS = 5000;

interface Slot {
  worker: Worker | null;
  startedAt: number;
  failures: number;
  timer?: NodeJS.Timeout;
}

/**
 * Runs the primary. `env` goes to every worker on top of this process's environment (the one
 * generated ADMIN_TOKEN, so that every worker accepts the same). `exit` ends the process.
 */
export function runPrimary(config: Readonly<GatewayConfig>, logger: Logger, env: Record<string, string>, exit: (code: number) => void): void {
  const count = workerCountOf(config);
  const own = new Registry();
  const restarts = workerRestartsCounter(own);
  answerScrapes(own, (missing) => logger.warn({ category: 'system', missing }, 'metrics: some workers did not answer in time'));

  const slots: Slot[] = Array.from({ length: count }, () => ({ worker: null, startedAt: 0, failures: 0 }));
  let stopping = false;
  let startFailed = false;
  let listening = 0;
  let codes = 0;
  let killTimer: NodeJS.Timeout | undefined;

  const live = () => slots.flatMap((slot) => (slot.worker ? [slot.worker] : []));

  const finishIfDone = () => {
    if (live().length > 0) return;
    clearTimeout(killTimer);
    if (startFailed) return exit(1);
    logger.info({ category: 'system' }, 'gateway stopped');
    exit(codes === 0 ? 0 : 1);
  };

  const stopAll = (signal: NodeJS.Signals) => {
    stopping = true;
    for (const slot of slots) clearTimeout(slot.timer);
    for (const worker of live()) worker.process.kill(signal);
    // A worker that outlives its drain is killed: the primary must not hang a deploy.
    killTimer = setTimeout(() => {
      for (const worker of live()) {
        logger.warn({ category: 'system', worker: worker.id, pid: worker.process.pid }, 'worker still running after the drain: killing it');
        worker.process.kill('SIGKILL');
      }
    }, config.shutdownDelayMs + config.shutdownGraceMs + STOP_MARGIN_MS);
    finishIfDone();
  };

  const onExit = (slot: Slot, worker: Worker, code: number | null, signal: string | null) => {
    slot.worker = null;
    if (stopping) {
      if (code !== 0) codes++;
      return finishIfDone();
    }
    if (listening === 0) {
      // Not one worker came up (a port in use, an unreadable TENANTS_FILE): restarting would only repeat it.
      logger.fatal({ category: 'system', worker: worker.id, code, signal }, 'worker failed to start: stopping');
      startFailed = true;
      return stopAll('SIGTERM');
    }
    const lived = Date.now() - slot.startedAt;
    slot.failures = lived >= STABLE_AFTER_MS ? 1 : slot.failures + 1;
    const delayMs = restartDelayMs(slot.failures);
    restarts.inc();
    logger.warn(
      { category: 'system', worker: worker.id, pid: worker.process.pid, code, signal, livedMs: lived, restartInMs: delayMs },
      'worker exited: restarting it',
    );
    slot.timer = setTimeout(() => fork(slot), delayMs);
  };

  const fork = (slot: Slot) => {
    slot.timer = undefined;
    if (stopping) return;
    slot.startedAt = Date.now();
    const worker = cluster.fork(env);
    slot.worker = worker;
    logger.info({ category: 'system', worker: worker.id, pid: worker.process.pid }, 'worker started');
    let counted = false;
    worker.on('listening', () => {
      if (counted) return;
      counted = true;
      listening++;
      if (listening === count) {
        logger.info({ category: 'system', workers: count, host: config.host, port: config.port }, 'all workers listening');
      }
    });
    worker.once('exit', (code: number | null, signal: string | null) => onExit(slot, worker, code, signal));
  };

  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return;
    logger.info({ category: 'system', signal, workers: live().length }, 'signal received: stopping every worker');
    stopAll(signal);
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));

  logger.info({ category: 'system', workers: count, pid: process.pid }, 'primary starting workers');
  for (const slot of slots) fork(slot);
}
