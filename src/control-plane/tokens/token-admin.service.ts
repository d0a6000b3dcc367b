import { Inject, Injectable } from '@nestjs/common';
import { invalidRequest, tokenNotFound } from '../../errors/gateway-error';
import { STATE_STORE, type StateStore, type TokenRecord } from '../../store/store.port';
import { generateAdminToken, generateTokenId, hashApiKey } from '../../tenants/api-key';
import { validateTokenCreate, type CreatedToken, type TokenView } from '../../tenants/key.schema';
import { TenantAdminService } from '../tenants/tenant-admin.service';

function view(record: TokenRecord, now = Date.now()): TokenView {
  const expiresAtMs = record.expiresAt === null ? NaN : Date.parse(record.expiresAt);
  return {
    tokenId: record.tokenId,
    role: record.role,
    name: record.name,
    createdAt: record.createdAt,
    expiresAt: record.expiresAt,
    expired: expiresAtMs <= now,
  };
}

/**
 * Tenant-scoped admin tokens (SPEC §12): issued by the operator (shown once, stored as a SHA-256),
 * listed as metadata, revoked. A token is checked against the store on every admin request, so a
 * revocation needs no cache invalidation to reach every replica.
 */
@Injectable()
export class TokenAdminService {
  constructor(
    @Inject(STATE_STORE) private readonly store: StateStore,
    @Inject(TenantAdminService) private readonly tenants: TenantAdminService,
  ) {}

  async create(tenantId: string, body: unknown): Promise<CreatedToken> {
    const result = validateTokenCreate(body);
    if (!result.ok) throw invalidRequest(result.errors);
    await this.tenants.assertExists(tenantId);
    const token = generateAdminToken();
    const record: TokenRecord = {
      tokenId: generateTokenId(),
      tenantId,
      hash: hashApiKey(token),
      role: result.value.role,
      name: result.value.name,
      createdAt: new Date().toISOString(),
      expiresAt: result.value.expiresAt,
    };
    await this.store.addToken(record);
    const { tokenId, ...rest } = view(record);
    return { tokenId, token, ...rest };
  }

  async list(tenantId: string): Promise<{ tokens: TokenView[] }> {
    await this.tenants.assertExists(tenantId);
    return { tokens: (await this.store.listTokens(tenantId)).map((record) => view(record)) };
  }

  async revoke(tenantId: string, tokenId: string): Promise<void> {
    await this.tenants.assertExists(tenantId);
    if ((await this.store.removeToken(tenantId, tokenId)) === null) throw tokenNotFound(tokenId);
  }
}
