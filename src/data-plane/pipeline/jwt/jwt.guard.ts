import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { JwtVerifier } from '../../../policy/steps/jwt/jwt-verifier';
import { contextOf } from '../../../observability/request-context';
import { jwtRequired } from '../../../policy/steps/route/jwt-rule';

/**
 * Step 4: when the effective rule requires a JWT, the bearer token must verify against the tenant's
 * identity provider; its `sub` becomes the request's subject (X-Auth-Subject upstream).
 */
@Injectable()
export class JwtGuard implements CanActivate {
  constructor(@Inject(JwtVerifier) private readonly verifier: JwtVerifier) {}

  /** Synchronous when the route needs no token: the pipeline then does not wait on this step. */
  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    const req = context.switchToHttp().getRequest<import('node:http').IncomingMessage>();
    const ctx = contextOf(req);
    if (!jwtRequired(ctx.tenant!, ctx.route!)) return true;
    return this.verifier.verify(ctx.tenant!, req.headers.authorization).then(({ subject }) => {
      ctx.authSubject = subject;
      return true;
    });
  }
}
