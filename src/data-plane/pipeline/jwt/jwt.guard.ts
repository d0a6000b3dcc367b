import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { jwksUnavailable, missingJwt } from '../../../errors/gateway-error';
import { contextOf } from '../../../observability/request-context';
import { jwtRequired } from '../../../policy/jwt-rule';

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

/**
 * Step 4, closed by default: a route whose effective rule requires a JWT is never proxied unless a
 * token is verified. This release has no token verifier, so such routes answer 401 without a token
 * and 503 jwks_unavailable with one; routes that do not require a JWT are unaffected.
 */
@Injectable()
export class JwtGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<import('node:http').IncomingMessage>();
    const ctx = contextOf(req);
    if (!jwtRequired(ctx.tenant!, ctx.route!)) return true;
    const header = req.headers.authorization;
    if (header === undefined || !BEARER.test(header)) throw missingJwt();
    throw jwksUnavailable('JWT verification is not available on this gateway.');
  }
}
