import { Inject, Injectable } from '@nestjs/common';
import { invalidRequest, keyExists, keyNotFound, type ValidationIssue } from '../../errors/gateway-error';
import { STATE_STORE, type KeyRecord, type StateStore } from '../../store/store.port';
import { generateApiKey, generateKeyId, hashApiKey, SHA256_HEX } from '../../tenants/api-key';
import { CacheInvalidator } from '../../tenants/cache-invalidator';
import { isObject } from '../../tenants/tenant.validator';
import { TenantAdminService } from '../tenants/tenant-admin.service';

export interface KeyView {
  keyId: string;
  createdAt: string;
  expiresAt: string | null;
  /** Last 4 hex chars of the key's SHA-256: enough to tell keys apart, useless to an attacker. */
  fingerprint: string;
}

export interface CreatedKey extends KeyView {
  /** The key itself: present only when the gateway generated it, and only in this response. */
  apiKey?: string;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;

function view(record: KeyRecord): KeyView {
  return {
    keyId: record.keyId,
    createdAt: record.createdAt,
    expiresAt: record.expiresAt,
    fingerprint: record.hash.slice(-4),
  };
}

/** Parses `{ sha256?, expiresAt? }`, reporting every problem. */
function parseCreateBody(body: unknown): { sha256?: string; expiresAt: string | null } {
  if (body === undefined || body === null) return { expiresAt: null };
  if (!isObject(body)) throw invalidRequest([{ path: '', message: 'must be an object' }]);
  const errors: ValidationIssue[] = [];
  for (const key of Object.keys(body)) {
    if (key !== 'sha256' && key !== 'expiresAt') errors.push({ path: key, message: 'unknown field' });
  }
  let sha256: string | undefined;
  if (body.sha256 !== undefined) {
    if (typeof body.sha256 !== 'string' || !SHA256_HEX.test(body.sha256.toLowerCase())) {
      errors.push({ path: 'sha256', message: 'must be the 64 hex characters of a SHA-256 digest' });
    } else sha256 = body.sha256.toLowerCase();
  }
  let expiresAt: string | null = null;
  if (body.expiresAt !== undefined && body.expiresAt !== null) {
    const ms = typeof body.expiresAt === 'string' && RFC3339.test(body.expiresAt) ? Date.parse(body.expiresAt) : NaN;
    if (Number.isNaN(ms)) errors.push({ path: 'expiresAt', message: 'must be an RFC 3339 date-time' });
    else if (ms <= Date.now()) errors.push({ path: 'expiresAt', message: 'must be in the future' });
    else expiresAt = new Date(ms).toISOString();
  }
  if (errors.length > 0) throw invalidRequest(errors);
  return { sha256, expiresAt };
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
    const { sha256, expiresAt } = parseCreateBody(body);
    await this.tenants.assertExists(tenantId);
    const apiKey = sha256 === undefined ? generateApiKey() : undefined;
    const hash = sha256 ?? hashApiKey(apiKey!);
    // A hash already mapped (to any tenant) is refused, so nobody can take over another tenant's key.
    if ((await this.store.lookupKey(hash)) !== null) {
      throw keyExists();
    }
    const record: KeyRecord = { keyId: generateKeyId(), hash, createdAt: new Date().toISOString(), expiresAt };
    await this.store.addKey(tenantId, record);
    // Replicas may hold this key as unknown (tried before it existed): the invalidation drops those.
    await this.invalidator.changed({ tenantId });
    const { keyId, ...rest } = view(record);
    return apiKey === undefined ? { keyId, ...rest } : { keyId, apiKey, ...rest };
  }

  async list(tenantId: string): Promise<{ keys: KeyView[] }> {
    await this.tenants.assertExists(tenantId);
    return { keys: (await this.store.listKeys(tenantId)).map(view) };
  }

  async revoke(tenantId: string, keyId: string): Promise<void> {
    await this.tenants.assertExists(tenantId);
    const removed = await this.store.removeKey(tenantId, keyId);
    if (removed === null) throw keyNotFound(keyId);
    await this.invalidator.changed({ tenantId });
  }
}
