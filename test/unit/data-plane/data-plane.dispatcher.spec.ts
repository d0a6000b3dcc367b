import type { IncomingMessage, ServerResponse } from 'node:http';
import { ForbiddenException, HttpException, type ArgumentsHost, type CanActivate, type ExecutionContext, type ExceptionFilter } from '@nestjs/common';
import { of } from 'rxjs';
import { DataPlaneDispatcher, type NodeMiddleware } from '../../../src/data-plane/data-plane.dispatcher';
import { ProxyService } from '../../../src/data-plane/proxy/proxy.service';
import { capturedLogger } from '../../support/captured-logger';

/** Records the order in which the dispatcher calls things, and what it handed them. */
class Trace {
  readonly steps: string[] = [];
  readonly contexts: ExecutionContext[] = [];
  readonly caught: unknown[] = [];
  /** The response the filter was handed with each error. */
  readonly responses: unknown[] = [];
  done!: Promise<void>;
  private finish!: () => void;

  constructor() {
    this.reset();
  }

  reset(): void {
    this.done = new Promise((resolve) => (this.finish = resolve));
  }

  end(): void {
    this.finish();
  }
}

function guard(trace: Trace, name: string, result: (ctx: ExecutionContext) => ReturnType<CanActivate['canActivate']>): CanActivate {
  return {
    canActivate(ctx) {
      trace.steps.push(name);
      trace.contexts.push(ctx);
      return result(ctx);
    },
  };
}

function filter(trace: Trace, behaviour: 'answer' | 'throw' | 'reject' = 'answer'): ExceptionFilter {
  return {
    catch(exception: unknown, host: ArgumentsHost) {
      trace.steps.push('filter');
      trace.caught.push(exception);
      trace.responses.push(host.switchToHttp().getResponse());
      if (behaviour === 'throw') {
        trace.end();
        throw new Error('filter broke');
      }
      if (behaviour === 'reject') {
        setImmediate(() => trace.end());
        return Promise.reject(new Error('filter broke later'));
      }
      trace.end();
    },
  };
}

function exchange() {
  const req = { url: '/api/x', headers: {} } as unknown as IncomingMessage;
  const state = { destroyed: false };
  const res = Object.assign(state, { destroy: () => void (state.destroyed = true) }) as unknown as ServerResponse;
  return { req, res };
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

interface DispatcherOptions {
  middleware?: NodeMiddleware[];
  /** By default the handler records itself and ends the trace. */
  handler?: Handler;
  filter?: ExceptionFilter;
}

function dispatcher(trace: Trace, guards: CanActivate[], opts: DispatcherOptions = {}) {
  const { logger, lines } = capturedLogger();
  const d = new DataPlaneDispatcher(
    opts.middleware ?? [],
    guards,
    opts.handler ??
      (() => {
        trace.steps.push('handler');
        trace.end();
      }),
    opts.filter ?? filter(trace),
    logger,
  );
  return { d, lines };
}

describe('DataPlaneDispatcher', () => {
  it('runs the middleware, then every guard in order, then the handler', async () => {
    const trace = new Trace();
    const mw = (name: string): NodeMiddleware => (_req, _res, next) => {
      trace.steps.push(name);
      next();
    };
    const { d } = dispatcher(trace, [guard(trace, 'g1', () => true), guard(trace, 'g2', async () => true), guard(trace, 'g3', () => true)], {
      middleware: [mw('m1'), mw('m2')],
    });
    const { req, res } = exchange();
    d.handle(req, res);
    await trace.done;
    expect(trace.steps).toEqual(['m1', 'm2', 'g1', 'g2', 'g3', 'handler']);
  });

  it("gives guards an http ExecutionContext of the proxy's handler, with the request and response", async () => {
    const trace = new Trace();
    const { d } = dispatcher(trace, [guard(trace, 'g', () => true)]);
    const { req, res } = exchange();
    d.handle(req, res);
    await trace.done;
    const [ctx] = trace.contexts;
    expect(ctx.getType()).toBe('http');
    expect(ctx.switchToHttp().getRequest()).toBe(req);
    expect(ctx.switchToHttp().getResponse()).toBe(res);
    expect(ctx.getClass()).toBe(ProxyService);
    expect(ctx.getHandler()).toBe(ProxyService.prototype.forward);
  });

  it('stops at the first guard that throws and hands its error to the filter', async () => {
    const trace = new Trace();
    const denial = new HttpException('no', 401);
    const { d } = dispatcher(trace, [
      guard(trace, 'g1', () => true),
      guard(trace, 'g2', () => {
        throw denial;
      }),
      guard(trace, 'g3', () => true),
    ]);
    const { req, res } = exchange();
    d.handle(req, res);
    await trace.done;
    expect(trace.steps).toEqual(['g1', 'g2', 'filter']);
    expect(trace.caught).toEqual([denial]);
    expect(trace.responses[0]).toBe(res);
  });

  it('stops at an asynchronous guard that rejects', async () => {
    const trace = new Trace();
    const denial = new HttpException('slow no', 429);
    const { d } = dispatcher(trace, [guard(trace, 'g1', () => Promise.reject(denial)), guard(trace, 'g2', () => true)]);
    const { req, res } = exchange();
    d.handle(req, res);
    await trace.done;
    expect(trace.steps).toEqual(['g1', 'filter']);
    expect(trace.caught).toEqual([denial]);
    expect(trace.responses[0]).toBe(res);
  });

  it.each([
    ['false', () => false],
    ['a promise of false', () => Promise.resolve(false)],
    ['an observable of false', () => of(false)],
    ['a promise of an observable of false', () => Promise.resolve(of(false)) as unknown as Promise<boolean>],
  ])('answers a guard that returns %s with 403, as Nest does', async (_name, result) => {
    const trace = new Trace();
    const { d } = dispatcher(trace, [guard(trace, 'g1', result), guard(trace, 'g2', () => true)]);
    const { req, res } = exchange();
    d.handle(req, res);
    await trace.done;
    expect(trace.steps).toEqual(['g1', 'filter']);
    expect(trace.caught[0]).toBeInstanceOf(ForbiddenException);
    expect(trace.responses[0]).toBe(res);
  });

  it.each([
    ['an observable of true', () => of(true)],
    ['a promise of an observable of true', () => Promise.resolve(of(true)) as unknown as Promise<boolean>],
  ])('goes on after a guard that returns %s', async (_name, result) => {
    const trace = new Trace();
    const { d } = dispatcher(trace, [guard(trace, 'g1', result), guard(trace, 'g2', () => true)]);
    const { req, res } = exchange();
    d.handle(req, res);
    await trace.done;
    expect(trace.steps).toEqual(['g1', 'g2', 'handler']);
  });

  it('runs no guard when a middleware answers by itself (a CORS preflight)', async () => {
    const trace = new Trace();
    const answered: NodeMiddleware = () => {
      trace.steps.push('preflight');
      trace.end();
    };
    const { d } = dispatcher(trace, [guard(trace, 'g1', () => true)], { middleware: [answered] });
    const { req, res } = exchange();
    d.handle(req, res);
    await trace.done;
    expect(trace.steps).toEqual(['preflight']);
  });

  it('hands an error thrown by a middleware to the filter', async () => {
    const trace = new Trace();
    const broken = new Error('middleware broke');
    const { d } = dispatcher(trace, [guard(trace, 'g1', () => true)], {
      middleware: [
        () => {
          throw broken;
        },
      ],
    });
    const { req, res } = exchange();
    d.handle(req, res);
    await trace.done;
    expect(trace.steps).toEqual(['filter']);
    expect(trace.caught).toEqual([broken]);
    expect(trace.responses[0]).toBe(res);
  });

  it('hands an error thrown by the handler to the filter', async () => {
    const trace = new Trace();
    const broken = new Error('handler broke');
    const { d } = dispatcher(trace, [guard(trace, 'g1', () => true), guard(trace, 'g2', async () => true)], {
      handler: () => {
        trace.steps.push('handler');
        throw broken;
      },
    });
    const { req, res } = exchange();
    d.handle(req, res);
    await trace.done;
    expect(trace.steps).toEqual(['g1', 'g2', 'handler', 'filter']);
    expect(trace.caught).toEqual([broken]);
    expect(trace.responses[0]).toBe(res);
  });

  it.each(['throw', 'reject'] as const)('cuts the connection and logs when the filter itself fails (%s)', async (behaviour) => {
    const trace = new Trace();
    const { d, lines } = dispatcher(trace, [guard(trace, 'g1', () => false)], { filter: filter(trace, behaviour) });
    const { req, res } = exchange();
    d.handle(req, res);
    await trace.done;
    expect(res.destroyed).toBe(true);
    expect(lines).toEqual([expect.objectContaining({ category: 'system', msg: 'problem response failed' })]);
  });
});
