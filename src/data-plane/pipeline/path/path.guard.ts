import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { badPath } from '../../../errors/gateway-error';
import { contextOf } from '../../../observability/request-context';
import { normalizePath } from '../../../policy/steps/path/path-normalizer';

/** Step 1 (SPEC §5.1): the raw path after /api, normalized; the query string is kept aside unchanged. */
@Injectable()
export class PathGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const ctx = contextOf(context.switchToHttp().getRequest<import('node:http').IncomingMessage>());
    // The raw request-target: nothing has decoded it yet.
    const raw = ctx.target;
    const q = raw.indexOf('?');
    const rawPath = q === -1 ? raw : raw.slice(0, q);
    if (!rawPath.startsWith('/api') || (rawPath.length > 4 && rawPath[4] !== '/')) {
      throw badPath('The path must start with /api/.');
    }
    ctx.path = normalizePath(rawPath.slice(4));
    ctx.query = q === -1 ? '' : raw.slice(q);
    return true;
  }
}
