import type { IncomingMessage, ServerResponse } from 'node:http';
import { ForbiddenException, type CanActivate, type ExceptionFilter } from '@nestjs/common';
import type { HttpArgumentsHost } from '@nestjs/common/interfaces';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { isObservable, lastValueFrom, type Observable } from 'rxjs';
import { ProblemFilter } from '../http/problem.filter';
import { isDataPlaneTarget } from '../http/plane';
import { apiContextOf } from './api-context';
import type { Logger } from '../observability/logger';
import { PolicyGuard } from './policy.guard';
import { ProxyService } from './proxy/proxy.service';

/** An Express-style middleware that uses only Node's own request and response. */
export type NodeMiddleware = (req: IncomingMessage, res: ServerResponse, next: () => void) => void;

/** What Nest answers when a guard returns false rather than throwing (GuardsConsumer). */
const forbidden = () => new ForbiddenException('Forbidden resource');

const noop = () => undefined;

/**
 * The HTTP ExecutionContext the guards get, for ProxyService.forward (the handler they guard). It is
 * its own HttpArgumentsHost: Nest's switchToHttp() builds three closures on every call, and every
 * guard calls it on every request.
 */
export class DataPlaneContext extends ExecutionContextHost implements HttpArgumentsHost {
  constructor(req: IncomingMessage, res: ServerResponse) {
    super([req, res, noop], ProxyService, ProxyService.prototype.forward);
    this.setType('http');
  }

  override switchToHttp(): this {
    return this;
  }

  getRequest<T = IncomingMessage>(): T {
    return this.getArgByIndex<T>(0);
  }

  getResponse<T = ServerResponse>(): T {
    return this.getArgByIndex<T>(1);
  }

  getNext<T = () => void>(): T {
    return this.getArgByIndex<T>(2);
  }
}

/**
 * Serves ANY /api/* the way Nest would serve a route guarded by PolicyGuard, minus Express:
 * the same middleware, then the guards in their order, taken from DI and given an
 * ExecutionContext, then the handler (the proxy); anything thrown goes to ProblemFilter.
 *
 * Express 5 swaps the prototype of every request and response it handles (`Object.setPrototypeOf`
 * in app.handle). That turns Node's two hottest objects polymorphic for its own http and stream
 * code and costs more than everything else the gateway does per request; Node's objects served
 * here are never touched that way. Every other path (admin, metrics, health) goes through
 * Express and Nest unchanged.
 */
export class DataPlaneDispatcher {
  constructor(
    private readonly middleware: readonly NodeMiddleware[],
    private readonly guards: readonly CanActivate[],
    private readonly handler: (req: IncomingMessage, res: ServerResponse) => void,
    private readonly filter: ExceptionFilter,
    private readonly logger: Logger,
  ) {}

  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    const host = new DataPlaneContext(req, res);
    let index = 0;
    const next = (): void => {
      if (index < this.middleware.length) this.middleware[index++](req, res, next);
      else this.runGuards(0, host);
    };
    try {
      next();
    } catch (err) {
      this.fail(err, host);
    }
  };

  /** Synchronous guards run in one loop; the chain waits only on a guard that returns a promise. */
  private runGuards(from: number, host: DataPlaneContext): void {
    try {
      for (let i = from; i < this.guards.length; i++) {
        const result = this.guards[i].canActivate(host);
        if (result === true) continue;
        if (result === false) throw forbidden();
        const after = i + 1;
        // A native promise is followed directly (no extra async frame); anything else as Nest does.
        const settled: Promise<unknown> = result instanceof Promise ? result : settle(result);
        settled.then(
          (passed) => {
            if (isObservable(passed)) return this.continueWith(settle(passed), after, host);
            if (passed) this.runGuards(after, host);
            else this.fail(forbidden(), host);
          },
          (err: unknown) => this.fail(err, host),
        );
        return;
      }
      this.handler(host.getArgByIndex(0), host.getArgByIndex(1));
    } catch (err) {
      this.fail(err, host);
    }
  }

  private continueWith(passed: Promise<boolean>, after: number, host: DataPlaneContext): void {
    passed.then(
      (ok) => (ok ? this.runGuards(after, host) : this.fail(forbidden(), host)),
      (err: unknown) => this.fail(err, host),
    );
  }

  private fail(err: unknown, host: DataPlaneContext): void {
    const res = host.getArgByIndex<ServerResponse>(1);
    try {
      const done = this.filter.catch(err, host) as unknown;
      if (done instanceof Promise) done.catch((e: unknown) => this.lost(e, res));
    } catch (e) {
      this.lost(e, res);
    }
  }

  /** The filter itself failed: nothing is left to answer with, and the client must not hang. */
  private lost(err: unknown, res: ServerResponse): void {
    this.logger.error({ category: 'system', err }, 'problem response failed');
    res.destroy();
  }
}

async function settle(result: Promise<unknown> | Observable<unknown>): Promise<boolean> {
  const value: unknown = await result;
  return Boolean(isObservable(value) ? await lastValueFrom(value) : value);
}

/**
 * Puts the dispatcher in front of Express on the app's own server (after `app.init()`): /api/* goes
 * to it, everything else to Express as before. `middleware` is what the app runs first for every
 * request (request context, CORS). Fails at start, not per request, if the server is not as expected.
 */
export function installDataPlaneDispatcher(app: NestExpressApplication, middleware: readonly NodeMiddleware[], logger: Logger): void {
  const guards: CanActivate[] = [app.get(PolicyGuard, { strict: false })];
  const proxy = app.get(ProxyService, { strict: false });
  const dispatcher = new DataPlaneDispatcher(
    middleware,
    guards,
    (req, res) => proxy.forward(req, res, apiContextOf(req)),
    app.get(ProblemFilter, { strict: false }),
    logger,
  );

  const server = app.getHttpServer();
  const listeners = server.listeners('request');
  if (listeners.length !== 1) throw new Error(`expected the HTTP server to have one request listener, found ${listeners.length}`);
  const express = listeners[0] as (req: IncomingMessage, res: ServerResponse) => void;
  server.removeListener('request', express);
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (isDataPlaneTarget(req.url ?? '/')) dispatcher.handle(req, res);
    else express(req, res);
  });
}
