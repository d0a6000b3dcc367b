import { Injectable } from '@nestjs/common';

/**
 * Readiness and drain state of this process (SPEC §10): /readyz turns 503 the moment shutdown
 * starts, and shutdown waits for the requests in flight.
 */
@Injectable()
export class Lifecycle {
  private draining = false;
  private inflight = 0;
  private idleWaiters: (() => void)[] = [];

  get shuttingDown(): boolean {
    return this.draining;
  }

  get inFlight(): number {
    return this.inflight;
  }

  beginShutdown(): void {
    this.draining = true;
  }

  requestStarted(): void {
    this.inflight++;
  }

  requestEnded(): void {
    this.inflight--;
    if (this.inflight === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const wake of waiters) wake();
    }
  }

  /** Resolves true once nothing is in flight, or false when `timeoutMs` passes first. */
  waitForIdle(timeoutMs: number): Promise<boolean> {
    if (this.inflight === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.idleWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }
}
