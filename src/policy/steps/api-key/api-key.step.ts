import { Inject, Injectable } from '@nestjs/common';
import { GatewayError, invalidApiKey, keyDisabled, missingApiKey, tenantDisabled, tenantNotFound } from '../../../errors/gateway-error';
import type { ServedTenant } from '../../../tenants/tenant.repository';
import { hashApiKey } from '../../../tenants/api-key';
import type { Tenant } from '../../../tenants/tenant.model';
import { TenantResolver, type KeyMeta, type ServedKey } from '../../../tenants/tenant-resolver';
import type { Decision } from '../../decision';
import type { PolicyStep } from '../../step';

/**
 * Step 2: X-API-Key -> SHA-256 -> tenant (cached). SPEC §13's order: an unknown or expired key is a
 * 401, then a disabled tenant a 403, then a suspended key a 403.
 */
@Injectable()
export class ApiKeyStep implements PolicyStep {
  readonly name = 'api_key';

  constructor(@Inject(TenantResolver) private readonly resolver: TenantResolver) {}

  /** Synchronous when the key and its tenant are freshly cached (the hot path); else one store read. */
  run(decision: Decision): void | Promise<void> {
    if (decision.namedTenantId !== undefined) return this.byName(decision.namedTenantId).then((served) => accept(decision, served));
    const apiKey = decision.headers['x-api-key'];
    if (typeof apiKey !== 'string' || apiKey === '') throw missingApiKey();
    const hash = hashApiKey(apiKey);
    decision.keyHash = hash;
    const cached = this.resolver.cachedKeyHash(hash);
    if (cached !== undefined) return acceptKey(decision, cached);
    return this.resolver.resolveKeyHash(hash).then((served) => acceptKey(decision, served));
  }

  shows(decision: Decision): Record<string, unknown> {
    if (decision.namedTenantId !== undefined) return { tenantId: decision.tenantId, keyChecked: false };
    return { tenantId: decision.tenantId, ...keyFields(decision) };
  }

  showsRefusal(decision: Decision): Record<string, unknown> {
    return decision.tenantId === undefined ? {} : { tenantId: decision.tenantId, ...keyFields(decision) };
  }

  /** Explain may name the tenant instead of giving a key; naming one that does not exist is a 404. */
  private async byName(tenantId: string): Promise<ServedTenant> {
    const served = await this.resolver.resolveTenant(tenantId);
    if (served === null) throw tenantNotFound(tenantId);
    return served;
  }
}

function acceptKey(decision: Decision, served: ServedKey | null): void {
  if (served === null) throw invalidApiKey();
  decision.key = served.key;
  accept(decision, served);
}

/** The tenant is known before the disabled checks, so logs and metrics name the tenant of a refused request. */
function accept(decision: Decision, served: ServedTenant): void {
  const tenant = served.tenant;
  decision.tenant = tenant;
  decision.tenantId = tenant.id;
  const refusal = refusalOf(tenant, decision.key);
  if (refusal !== null) throw refusal;
}

/**
 * SPEC §13's order after the key is found (an unknown or expired one is a 401 before this): a disabled
 * tenant, then a suspended key; null when both admit. Open WebSockets are re-checked by it too.
 */
export function refusalOf(tenant: Tenant, key: KeyMeta | null | undefined): GatewayError | null {
  if (tenant.disabled === true) return tenantDisabled();
  if (key?.disabled === true) return keyDisabled();
  return null;
}

/** Explain shows which key answered and whether it is suspended (never the key or its hash). */
function keyFields(decision: Decision): Record<string, unknown> {
  const key = decision.key;
  if (key === undefined) return {};
  return key === null ? { keyId: null } : { keyId: key.keyId, keyDisabled: key.disabled };
}
