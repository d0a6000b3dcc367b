import type { Provider, Type } from '@nestjs/common';
import type { Decision } from './decision';
import type { PolicyStep, StepMode } from './step';
import { ApiKeyStep } from './steps/api-key/api-key.step';
import { JwtStep } from './steps/jwt/jwt.step';
import { PathStep } from './steps/path/path.step';
import { RateLimitStep } from './steps/rate-limit/rate-limit.step';
import { RouteStep } from './steps/route/route.step';

/**
 * SPEC §5's decision steps, in the one order they run: the data plane takes them (its guard), explain
 * peeks through them. Declared here only; a new step is a folder under steps/ and a line here.
 */
export const POLICY_STEPS: readonly Type<PolicyStep>[] = [PathStep, ApiKeyStep, RouteStep, JwtStep, RateLimitStep];

/** Runs the declared steps over one decision, stopping at the first that refuses. */
export class PolicyPipeline {
  constructor(readonly steps: readonly PolicyStep[]) {}

  /**
   * Synchronous steps run in one loop; the pipeline waits only on a step that returns a promise.
   * Returns undefined when every step decided synchronously; throws or rejects with the refusal.
   */
  run(decision: Decision, mode: StepMode, from = 0): void | Promise<void> {
    for (let i = from; i < this.steps.length; i++) {
      const pending = this.steps[i].run(decision, mode);
      if (pending !== undefined) {
        const next = i + 1;
        return pending.then(() => this.run(decision, mode, next));
      }
    }
  }

  /** What every step completes after a refusal (see PolicyStep.afterRefusal); never rejects. */
  afterRefusal(decision: Decision): Promise<void> | undefined {
    let pending: Promise<void> | undefined;
    for (const step of this.steps) {
      const done = step.afterRefusal?.(decision);
      if (done !== undefined) pending = pending === undefined ? done : pending.then(() => done);
    }
    return pending?.catch(() => undefined);
  }
}

/** The steps and their pipeline, for the core module: Nest builds each step with its dependencies. */
export const POLICY_PROVIDERS: Provider[] = [
  ...POLICY_STEPS,
  { provide: PolicyPipeline, inject: [...POLICY_STEPS], useFactory: (...steps: PolicyStep[]) => new PolicyPipeline(steps) },
];
