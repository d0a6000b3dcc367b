import type { Tenant } from '../tenants/tenant.model';

/** SPEC §5.4: the tenant's `maxBodyBytes`, else MAX_BODY_BYTES. */
export function bodyLimitOf(tenant: Tenant, defaultLimit: number): number {
  return tenant.maxBodyBytes ?? defaultLimit;
}

/** A declared Content-Length over the limit is refused (413) before anything is forwarded. */
export function declaresTooLarge(contentLength: string | undefined, limit: number): boolean {
  return contentLength !== undefined && Number(contentLength) > limit;
}
