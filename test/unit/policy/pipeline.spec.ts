import { routeNotAllowed, tenantDisabled } from '../../../src/errors/gateway-error';
import type { Decision } from '../../../src/policy/decision';
import { PolicyPipeline, POLICY_STEPS } from '../../../src/policy/pipeline';
import type { PolicyStep, StepMode } from '../../../src/policy/step';
import { ApiKeyStep } from '../../../src/policy/steps/api-key/api-key.step';
import { JwtStep } from '../../../src/policy/steps/jwt/jwt.step';
import { PathStep } from '../../../src/policy/steps/path/path.step';
import { RateLimitStep } from '../../../src/policy/steps/rate-limit/rate-limit.step';
import { RouteStep } from '../../../src/policy/steps/route/route.step';
import { decisionFor } from '../../support/decision';
import { gatewayErrorOf } from '../../support/gateway-error';

/** A step that records its runs in `log`, optionally asynchronously or refusing. */
function step(name: string, log: string[], behaviour: { async?: boolean; refuse?: boolean; after?: () => Promise<void> } = {}): PolicyStep {
  return {
    name,
    run(_decision: Decision, mode: StepMode) {
      log.push(`${name}:${mode}`);
      if (behaviour.async) return Promise.resolve().then(() => {
        if (behaviour.refuse) throw routeNotAllowed('GET', '/');
      });
      if (behaviour.refuse) throw tenantDisabled();
      return undefined;
    },
    shows: () => ({}),
    ...(behaviour.after && { afterRefusal: behaviour.after }),
  };
}

describe('POLICY_STEPS', () => {
  it('declares SPEC §5 order: path, API key, route, JWT, rate limit', () => {
    expect(POLICY_STEPS).toEqual([PathStep, ApiKeyStep, RouteStep, JwtStep, RateLimitStep]);
  });
});

describe('PolicyPipeline', () => {
  it('runs every step in order and returns nothing when all decided synchronously', () => {
    const log: string[] = [];
    const pipeline = new PolicyPipeline([step('a', log), step('b', log), step('c', log)]);
    expect(pipeline.run(decisionFor(), 'take')).toBeUndefined();
    expect(log).toEqual(['a:take', 'b:take', 'c:take']);
  });

  it('waits on a step that returns a promise before running the next, in the mode it was given', async () => {
    const log: string[] = [];
    const pipeline = new PolicyPipeline([step('a', log), step('b', log, { async: true }), step('c', log)]);
    const pending = pipeline.run(decisionFor(), 'peek');
    expect(log).toEqual(['a:peek', 'b:peek']);
    await pending;
    expect(log).toEqual(['a:peek', 'b:peek', 'c:peek']);
  });

  it('stops at the first step that refuses, synchronously or not', async () => {
    const log: string[] = [];
    const sync = new PolicyPipeline([step('a', log), step('b', log, { refuse: true }), step('c', log)]);
    expect((await gatewayErrorOf(() => sync.run(decisionFor(), 'take'))).code).toBe('tenant_disabled');
    const async = new PolicyPipeline([step('x', log, { async: true, refuse: true }), step('y', log)]);
    expect((await gatewayErrorOf(() => async.run(decisionFor(), 'take'))).code).toBe('route_not_allowed');
    expect(log).toEqual(['a:take', 'b:take', 'x:take']);
  });

  it('after a refusal, waits for every step that completes something, and never rejects', async () => {
    const log: string[] = [];
    const pipeline = new PolicyPipeline([
      step('a', log, { after: async () => void log.push('a:after') }),
      step('b', log),
      step('c', log, { after: () => Promise.reject(new Error('store gone')) }),
    ]);
    await expect(pipeline.afterRefusal(decisionFor())).resolves.toBeUndefined();
    expect(log).toEqual(['a:after']);
    expect(new PolicyPipeline([step('b', log)]).afterRefusal(decisionFor())).toBeUndefined();
  });
});
