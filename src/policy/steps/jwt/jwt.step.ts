import { Inject, Injectable } from '@nestjs/common';
import type { Decision } from '../../decision';
import type { PolicyStep } from '../../step';
import { JwtVerifier } from './jwt-verifier';

/**
 * Step 4: when the route step found a JWT required, the bearer token must verify against the tenant's
 * identity provider; its `sub` becomes the request's subject (X-Auth-Subject upstream).
 */
@Injectable()
export class JwtStep implements PolicyStep {
  readonly name = 'jwt';

  constructor(@Inject(JwtVerifier) private readonly verifier: JwtVerifier) {}

  /**
   * Synchronous when the route needs no token or the token is answered from the verified-token
   * cache: the pipeline then does not wait on this step.
   */
  run(decision: Decision): void | Promise<void> {
    if (!decision.jwt!.required) return;
    const authorization = decision.headers.authorization;
    const verified = this.verifier.check(decision.tenant!, typeof authorization === 'string' ? authorization : undefined);
    if (verified instanceof Promise) {
      return verified.then(({ subject }) => {
        decision.authSubject = subject;
      });
    }
    decision.authSubject = verified.subject;
  }

  shows(decision: Decision): Record<string, unknown> {
    return decision.jwt!.required ? { required: true, subject: decision.authSubject ?? null } : { required: false };
  }

  showsRefusal(): Record<string, unknown> {
    return { required: true };
  }
}
