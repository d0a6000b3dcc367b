import type { GatewayError } from '../errors/gateway-error';
import type { Decision } from './decision';

/** `take`: the data plane, which spends a rate-limit token. `peek`: explain, which only looks. */
export type StepMode = 'take' | 'peek';

/**
 * One decision step of SPEC §5. `run` reads and completes the decision, or throws (or rejects with)
 * the GatewayError the request is answered with. It returns nothing when it decided synchronously,
 * so the pipeline waits only on steps that need to.
 */
export interface PolicyStep {
  /** The step's name in explain answers (SPEC §6.1). */
  readonly name: string;
  run(decision: Decision, mode: StepMode): void | Promise<void>;
  /** What explain shows of the step once it has passed. */
  shows(decision: Decision): Record<string, unknown>;
  /** What explain shows of the step besides code and detail when it refused. */
  showsRefusal?(decision: Decision, error: GatewayError): Record<string, unknown>;
  /**
   * Runs when a step refused the request: what every answer must still carry is completed here
   * (the rate-limit step looks at the bucket, so a 401 still reports the tenant's level).
   */
  afterRefusal?(decision: Decision): void | Promise<void>;
}
