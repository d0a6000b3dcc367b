import { Inject, Injectable } from '@nestjs/common';
import { invalidRequest, keyExists, keyNotFound } from '../../errors/gateway-error';
import { STATE_STORE, type KeyRecord, type StateStore } from '../../store/store.port';
import { generateApiKey, generateKeyId, hashApiKey } from '../../tenants/api-key';
import { CacheInvalidator } from '../../tenants/cache-invalidator';
import { validateKeyCreate, validateKeyPatch, type CreatedKey, type KeyCreateRequest, type KeyView } from '../../tenants/key.schema';
import { TenantAdminService } from '../tenants/tenant-admin.service';

function view(record: KeyRecord, now = Date.now()): KeyView {
  const expiresAtMs = record.expiresAt === null ? NaN : Date.parse(record.expiresAt);
  return {
    keyId: record.keyId,
    name: record.name ?? null,
    createdAt: record.createdAt,
    expiresAt: record.expiresAt,
    expired: expiresAtMs <= now,
    disabled: record.disabled === true,
    rateLimit: record.rateLimit ?? null,
    fingerprint: record.hash.slice(-4),
  };
}

/** The create body (tenants/key.schema.ts), every problem reported as 400 invalid_request. */
function parseCreateBody(body: unknown): KeyCreateRequest {
  const result = validateKeyCreate(body);
  if (!result.ok) throw invalidRequest(result.errors);
  return result.value;
}

/** API keys of a tenant: created (shown once) or registered by hash, listed by metadata, revoked. */
@Injectable()
export class KeyAdminService {
  constructor(
    @Inject(STATE_STORE) private readonly store: StateStore,
    @Inject(TenantAdminService) private readonly tenants: TenantAdminService,
    @Inject(CacheInvalidator) private readonly invalidator: CacheInvalidator,
  ) {}

  async create(tenantId: string, body: unknown): Promise<CreatedKey> {
    const { sha256, expiresAt, name, rateLimit } = parseCreateBody(body);
    await this.tenants.assertExists(tenantId);
    const apiKey = sha256 === undefined ? generateApiKey() : undefined;
    const hash = sha256 ?? hashApiKey(apiKey!);
    // A hash already mapped (to any tenant) is refused, so nobody can take over another tenant's key.
    if ((await this.store.lookupKey(hash)) !== null) {
      throw keyExists();
    }
    const record: KeyRecord = {
      keyId: generateKeyId(),
      hash,
      createdAt: new Date().toISOString(),
      expiresAt,
      name: name ?? null,
      disabled: false,
      rateLimit: rateLimit ?? null,
    };
    await this.store.addKey(tenantId, record);
    // Replicas may hold this key as unknown (tried before it existed): the invalidation drops those.
    await this.invalidator.changed({ tenantId });
    const { keyId, ...rest } = view(record);
    return apiKey === undefined ? { keyId, ...rest } : { keyId, apiKey, ...rest };
  }

  async list(tenantId: string): Promise<{ keys: KeyView[] }> {
    await this.tenants.assertExists(tenantId);
    return { keys: (await this.store.listKeys(tenantId)).map((record) => view(record)) };
  }

  /** SPEC §13 PATCH: name, own limit, expiry, suspension; every replica applies it within 1 s. */
  async update(tenantId: string, keyId: string, body: unknown): Promise<KeyView> {
    const result = validateKeyPatch(body);
    if (!result.ok) throw invalidRequest(result.errors);
    await this.tenants.assertExists(tenantId);
    const updated = await this.store.updateKey(tenantId, keyId, result.value);
    if (updated === null) throw keyNotFound(keyId);
    await this.invalidator.changed({ tenantId });
    return view(updated);
  }

  async revoke(tenantId: string, keyId: string): Promise<void> {
    await this.tenants.assertExists(tenantId);
    const removed = await this.store.removeKey(tenantId, keyId);
    if (removed === null) throw keyNotFound(keyId);
    await this.invalidator.changed({ tenantId });
  }
}
