import type { INestApplication } from '@nestjs/common';
import type { Server } from 'node:http';
import type { Logger } from '../observability/logger';
import { Lifecycle } from './lifecycle.service';

export interface ShutdownTiming {
  /** SHUTDOWN_DELAY_MS: not ready, but still serving, so a load balancer can take the replica out. */
  delayMs: number;
  /** SHUTDOWN_GRACE_MS: how long in-flight requests may still run once the listener has closed. */
  graceMs: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * SPEC §10/§11: /readyz turns 503 at once; requests are still served for `delayMs`; then the listener
 * closes, responses carry `Connection: close` and idle keep-alive connections are closed; in-flight
 * requests finish (up to `graceMs`, counted from the end of the delay), and WebSockets are closed with
 * 1001 once they have (§15); then the app closes (store, agents). Resolves true when everything drained.
 */
export async function drainAndClose(app: INestApplication, timing: ShutdownTiming, logger: Logger): Promise<boolean> {
  const lifecycle = app.get(Lifecycle);
  const { delayMs, graceMs } = timing;
  lifecycle.beginShutdown();
  const server = app.getHttpServer() as Server;
  if (delayMs > 0) {
    logger.info({ category: 'system', delayMs }, 'shutting down: not ready, still serving until the delay ends');
    await sleep(delayMs);
  }
  logger.info({ category: 'system', inFlight: lifecycle.inFlight, graceMs }, 'shutting down: draining');
  // A connection that falls idle from now on is closed at once (after its last response went out).
  lifecycle.closeConnections(() => setImmediate(() => server.closeIdleConnections()));
  // Every connection now ends after its current response, so the server closes once they have all
  // finished. (Counting requests would not do: a request pipelined behind a `Connection: close`
  // response is never answered, and Node never reports its end.)
  let graceTimer: NodeJS.Timeout | undefined;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  // WebSockets (SPEC §15) close with 1001 once the HTTP requests in flight have drained, at the latest
  // when the grace period ends.
  void lifecycle.waitForIdle(graceMs).then(() => {
    if (lifecycle.upgradedConnections > 0) logger.info({ category: 'system', websockets: lifecycle.upgradedConnections }, 'shutting down: closing WebSockets');
    lifecycle.closeUpgraded(1001);
  });
  server.closeIdleConnections();
  const drained = await Promise.race([
    closed.then(() => true),
    new Promise<false>((resolve) => (graceTimer = setTimeout(() => resolve(false), graceMs))),
  ]);
  clearTimeout(graceTimer);
  if (!drained) logger.warn({ category: 'system', inFlight: lifecycle.inFlight }, 'grace period over: closing connections');
  server.closeAllConnections();
  await closed;
  // A WebSocket's line is written when its socket has closed, which the server may learn first.
  await lifecycle.upgradedClosed(1000);
  await app.close();
  return drained;
}
