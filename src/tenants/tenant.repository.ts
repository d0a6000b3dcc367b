import type { Logger } from 'pino';
import type { ValidationIssue } from '../errors/gateway-error';
import type { StateStore } from '../store/store.port';
import type { Tenant } from './tenant.model';
import { validateTenant } from './tenant.schema';

/** A tenant ready to serve: validated. */
export type ServedTenant = { kind: 'ok'; tenant: Tenant };
export type LoadedTenant = ServedTenant | { kind: 'invalid'; id: string; errors: ValidationIssue[] };

/**
 * Tenants in the SPEC §4 layout: `tenant:<id>` holds the JSON, whether the admin API or an operator
 * with redis-cli wrote it. What is read is validated like what is written, so a hand-written typo
 * can never weaken policy: an invalid stored tenant is refused (500 tenant_misconfigured) and logged.
 */
export class TenantRepository {
  constructor(
    private readonly store: StateStore,
    private readonly logger: Logger,
    private readonly opts: { jwksAllowHttp: boolean },
  ) {}

  async load(id: string): Promise<LoadedTenant | null> {
    const raw = await this.store.getTenant(id);
    if (raw === null) return null;
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch (err) {
      return this.invalid(id, [{ path: '', message: `not valid JSON: ${(err as Error).message}` }]);
    }
    const result = validateTenant(parsed, this.opts);
    if (!result.ok) return this.invalid(id, result.errors);
    if (result.tenant.id !== id) {
      return this.invalid(id, [{ path: 'id', message: `does not match the key tenant:${id}` }]);
    }
    return { kind: 'ok', tenant: result.tenant };
  }

  /** Writes a validated tenant; with onlyIfAbsent returns false when it already exists. */
  save(tenant: Tenant, onlyIfAbsent = false): Promise<boolean> {
    return this.store.putTenant(tenant.id, JSON.stringify(tenant), onlyIfAbsent);
  }

  private invalid(id: string, errors: ValidationIssue[]): LoadedTenant {
    this.logger.error({ category: 'system', tenantId: id, errors }, 'stored tenant fails validation');
    return { kind: 'invalid', id, errors };
  }
}
