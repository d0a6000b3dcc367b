import type { IncomingMessage } from 'node:http';

/**
 * Who an admin request acts for (SPEC §12, §17): the operator (ADMIN_TOKEN), one tenant's token with
 * its role, or the scrape-only METRICS_TOKEN.
 */
export type Principal =
  | { kind: 'operator' }
  | { kind: 'tenant'; tenantId: string; tokenId: string; role: 'admin' | 'viewer' }
  | { kind: 'metrics' };

type WithPrincipal = IncomingMessage & { adminPrincipal?: Principal };

export function principalOf(req: IncomingMessage): Principal | undefined {
  return (req as WithPrincipal).adminPrincipal;
}

export function setPrincipal(req: IncomingMessage, principal: Principal): void {
  (req as WithPrincipal).adminPrincipal = principal;
}

/** The tenant a principal is confined to, or null for the operator. */
export function scopeOf(principal: Principal | undefined): string | null {
  return principal?.kind === 'tenant' ? principal.tenantId : null;
}

/** SPEC §14's `actor`: `operator`, or `tenant:<id>/<tokenId>`. */
export function actorName(principal: Principal | undefined): string {
  return principal?.kind === 'tenant' ? `tenant:${principal.tenantId}/${principal.tokenId}` : 'operator';
}
