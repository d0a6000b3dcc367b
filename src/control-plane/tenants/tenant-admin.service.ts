import { Inject, Injectable } from '@nestjs/common';
import { GATEWAY_CONFIG, type GatewayConfig } from '../../config/config.types';
import {
  GatewayError,
  invalidTenant,
  tenantExists,
  tenantMisconfigured,
  tenantNotFound,
  type ValidationIssue,
} from '../../errors/gateway-error';
import { STATE_STORE, type StateStore } from '../../store/store.port';
import { CacheInvalidator } from '../../tenants/cache-invalidator';
import type { Tenant } from '../../tenants/tenant.model';
import { TenantRepository } from '../../tenants/tenant.repository';
import { isTenantId, validateTenant, withDefaultId } from '../../tenants/tenant.schema';
import { mergePatch } from './merge-patch';

export interface TenantListing {
  tenants: Tenant[];
  /** Stored tenants that fail validation (hand-written typos): never served, shown to be fixed. */
  invalidTenants: { id: string; errors: ValidationIssue[] }[];
}

/** Tenant CRUD over the SPEC §4 layout; every change reaches every replica's caches (CacheInvalidator). */
@Injectable()
export class TenantAdminService {
  constructor(
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    @Inject(STATE_STORE) private readonly store: StateStore,
    @Inject(TenantRepository) private readonly repository: TenantRepository,
    @Inject(CacheInvalidator) private readonly invalidator: CacheInvalidator,
  ) {}

  /** Every tenant, or only `scope` (a tenant token's own). */
  async list(scope: string | null = null): Promise<TenantListing> {
    const listing: TenantListing = { tenants: [], invalidTenants: [] };
    const ids = scope === null ? await this.store.listTenantIds() : [scope];
    for (const id of ids) {
      const loaded = await this.repository.load(id);
      if (loaded === null) continue; // deleted between SCAN and GET
      if (loaded.kind === 'ok') listing.tenants.push(loaded.tenant);
      else listing.invalidTenants.push({ id, errors: loaded.errors });
    }
    return listing;
  }

  async get(id: string): Promise<Tenant> {
    assertTenantId(id);
    const loaded = await this.repository.load(id);
    if (loaded === null) throw tenantNotFound(id);
    if (loaded.kind === 'invalid') {
      const error = tenantMisconfigured();
      throw new GatewayError(error.code, error.detail, { errors: loaded.errors });
    }
    return loaded.tenant;
  }

  async create(body: unknown): Promise<Tenant> {
    const tenant = this.validate(body);
    if (!(await this.repository.save(tenant, true))) throw tenantExists(tenant.id);
    // Also drops unknown keys cached before: a key of this id may have been written by hand already.
    await this.invalidator.changed({ tenantId: tenant.id });
    return tenant;
  }

  /** Replaces (or creates) tenant `id`; `created` tells which. */
  async replace(id: string, body: unknown): Promise<{ tenant: Tenant; created: boolean }> {
    const tenant = this.validate(withDefaultId(body, id));
    if (tenant.id !== id) throw invalidTenant([{ path: 'id', message: `must equal the tenant id in the URL ("${id}")` }]);
    const existed = (await this.store.getTenant(id)) !== null;
    await this.repository.save(tenant);
    await this.invalidator.changed({ tenantId: id });
    return { tenant, created: !existed };
  }

  /**
   * SPEC §17: RFC 7396 merge patch of the stored tenant, validated as a whole (400 invalid_tenant as
   * for PUT); `id` cannot change. A stored tenant that fails validation can be patched into shape.
   */
  async patch(id: string, patch: unknown): Promise<Tenant> {
    assertTenantId(id);
    if (patch === undefined) throw invalidTenant([{ path: '', message: 'a merge patch document (application/merge-patch+json) is required' }]);
    const stored = await this.store.getTenant(id);
    if (stored === null) throw tenantNotFound(id);
    let current: unknown;
    try {
      current = JSON.parse(stored);
    } catch {
      current = {};
    }
    const patched = mergePatch(current, patch);
    const tenant = this.validate(withDefaultId(patched, id));
    if (tenant.id !== id) throw invalidTenant([{ path: 'id', message: `cannot change (the tenant is "${id}")` }]);
    await this.repository.save(tenant);
    await this.invalidator.changed({ tenantId: id });
    return tenant;
  }

  async delete(id: string): Promise<void> {
    assertTenantId(id);
    const removed = await this.store.deleteTenant(id);
    // Even when the tenant was gone, mappings naming it may just have been swept.
    await this.invalidator.changed({ tenantId: id });
    if (!removed) throw tenantNotFound(id);
  }

  /** Throws 404 unless tenant `id` exists (valid or not). */
  async assertExists(id: string): Promise<void> {
    assertTenantId(id);
    if ((await this.store.getTenant(id)) === null) throw tenantNotFound(id);
  }

  private validate(body: unknown): Tenant {
    const result = validateTenant(body, { jwksAllowHttp: this.config.jwksAllowHttp });
    if (!result.ok) throw invalidTenant(result.errors);
    return result.tenant;
  }
}

/**
 * A URL id that is not a tenant id names no tenant: without this, `byApiKey:<hash>` would address the
 * key mapping `tenant:byApiKey:<hash>` (GET answered 500, DELETE removed the mapping).
 */
function assertTenantId(id: string): void {
  if (!isTenantId(id)) throw tenantNotFound(id);
}
