import { Injectable } from '@nestjs/common';
import type { ServerResponse } from 'node:http';

/**
 * Readiness and drain state of this process (SPEC §10, §11): /readyz turns 503 the moment shutdown
 * starts, and shutdown waits for the requests in flight. Once the listener closes, every response
 * not yet started says `Connection: close`, so no client sends another request on a connection that
 * is about to go.
 */
@Injectable()
export class Lifecycle {
  private draining = false;
  private closing = false;
  private inflight = 0;
  private readonly idleWaiters = new Waiters();
  /** Responses in progress, to turn their keep-alive off when the listener closes. */
  private readonly responses = new Set<ServerResponse>();
  private onRequestEnded: (() => void) | null = null;
  /** Requests that became WebSocket connections: no longer in flight, closed with `close(code)` at shutdown. */
  private readonly upgraded = new Map<ServerResponse, (code: number) => void>();
  private readonly closedWaiters = new Waiters();

  get shuttingDown(): boolean {
    return this.draining;
  }

  /** True once the listener has closed (after SHUTDOWN_DELAY_MS): connections are being closed. */
  get closingConnections(): boolean {
    return this.closing;
  }

  get inFlight(): number {
    return this.inflight;
  }

  beginShutdown(): void {
    this.draining = true;
  }

  /**
   * The listener is closing: responses in flight and every later one carry `Connection: close`;
   * `afterEachRequest` runs once each later request has ended (to close connections left idle).
   */
  closeConnections(afterEachRequest: () => void): void {
    this.draining = true;
    this.closing = true;
    this.onRequestEnded = afterEachRequest;
    for (const res of this.responses) if (!res.headersSent) res.shouldKeepAlive = false;
  }

  requestStarted(res?: ServerResponse): void {
    this.inflight++;
    if (res === undefined) return;
    if (this.closing) res.shouldKeepAlive = false;
    else this.responses.add(res);
  }

  /**
   * The request switched protocols (SPEC §15): it no longer holds up the HTTP drain; `close` ends it
   * at shutdown. Its requestEnded (when the connection closes) then only forgets it.
   */
  requestUpgraded(res: ServerResponse, close: (code: number) => void): void {
    this.requestEnded(res);
    this.upgraded.set(res, close);
  }

  get upgradedConnections(): number {
    return this.upgraded.size;
  }

  /** Resolves once every upgraded connection has closed (each one's request line written), or after `timeoutMs`. */
  async upgradedClosed(timeoutMs: number): Promise<void> {
    if (this.upgraded.size > 0) await this.closedWaiters.wait(timeoutMs);
  }

  /** Closes every upgraded connection with `code` (1001 at shutdown). */
  closeUpgraded(code: number): void {
    for (const close of [...this.upgraded.values()]) close(code);
  }

  requestEnded(res?: ServerResponse): void {
    // The map is empty unless WebSockets are open: most requests do not look it up.
    if (res !== undefined && this.upgraded.size > 0 && this.upgraded.delete(res)) {
      if (this.upgraded.size === 0) this.closedWaiters.wakeAll();
      return;
    }
    this.inflight--;
    if (res !== undefined) this.responses.delete(res);
    if (this.onRequestEnded !== null) this.onRequestEnded();
    if (this.inflight === 0) this.idleWaiters.wakeAll();
  }

  /** Resolves true once nothing is in flight, or false when `timeoutMs` passes first. */
  waitForIdle(timeoutMs: number): Promise<boolean> {
    return this.inflight === 0 ? Promise.resolve(true) : this.idleWaiters.wait(timeoutMs);
  }
}

/** Promises waiting for one condition: each resolves true when woken, or false after its timeout. */
class Waiters {
  private waiting: (() => void)[] = [];

  wait(timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.waiting.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  wakeAll(): void {
    const woken = this.waiting;
    this.waiting = [];
    for (const wake of woken) wake();
  }
}
