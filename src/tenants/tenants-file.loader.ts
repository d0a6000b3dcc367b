import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/config.types';
import { ConfigError } from '../config/config.loader';
import { LOGGER, type Logger } from '../observability/logger';
import { STATE_STORE, StoreUnavailableError, type KeyRecord, type StateStore } from '../store/store.port';
import { hashApiKey } from './api-key';
import { CacheInvalidator } from './cache-invalidator';
import { TenantRepository } from './tenant.repository';
import { parseTenantsFile, type TenantsFileEntry } from './tenants-file';

/** A stable id per key, so loading the same file again rewrites rather than duplicates; it reveals nothing of the hash. */
const fileKeyId = (hash: string) => `file_${createHash('sha256').update(`key-id:${hash}`).digest('hex').slice(0, 16)}`;

const expired = (record: KeyRecord): boolean => record.expiresAt !== null && Date.parse(record.expiresAt) <= Date.now();

/** Past this many tenants, one message for everything beats one per tenant. */
const MAX_TENANT_MESSAGES = 100;

/**
 * Upserts TENANTS_FILE into the store at start (SPEC §6). A file that cannot be read or is invalid
 * stops the process, naming the variable; a store that is down gets the upsert once it is back.
 */
@Injectable()
export class TenantsFileLoader implements OnApplicationBootstrap {
  constructor(
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(STATE_STORE) private readonly store: StateStore,
    @Inject(TenantRepository) private readonly repository: TenantRepository,
    @Inject(CacheInvalidator) private readonly invalidator: CacheInvalidator,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const file = this.config.tenantsFile;
    if (file === null) return;
    const entries = this.read(file);
    try {
      await this.upsert(entries);
    } catch (err) {
      if (!(err instanceof StoreUnavailableError)) throw err;
      this.logger.warn({ category: 'system', file }, 'state store unavailable: TENANTS_FILE will be loaded when it is back');
      let pending = true;
      this.store.onStatusChange((status) => {
        if (status !== 'ready' || !pending) return;
        pending = false;
        this.upsert(entries).catch((e: unknown) => {
          pending = true;
          this.logger.error({ category: 'system', file, err: e }, 'loading TENANTS_FILE failed');
        });
      });
    }
  }

  private read(file: string): TenantsFileEntry[] {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError([{ variable: 'TENANTS_FILE', message: `cannot read ${file}: ${(err as Error).message}` }]);
    }
    const parsed = parseTenantsFile(text, { jwksAllowHttp: this.config.jwksAllowHttp });
    if (!parsed.ok) {
      throw new ConfigError(
        parsed.errors.map((e) => ({ variable: 'TENANTS_FILE', message: `${file}: ${e.path || '(root)'}: ${e.message}` })),
      );
    }
    return parsed.entries;
  }

  private async upsert(entries: TenantsFileEntry[]): Promise<void> {
    const createdAt = new Date().toISOString();
    let keys = 0;
    for (const { tenant, apiKeys, apiKeyHashes, keyFields } of entries) {
      await this.repository.save(tenant);
      for (const hash of [...apiKeys.map(hashApiKey), ...apiKeyHashes]) {
        // SPEC §17: a key already there keeps its keyId, createdAt and what the API set on it; the
        // file's fields (name, rateLimit, disabled, expiresAt) are those of a key it adds.
        const kept = await this.store.keyByHash(tenant.id, hash);
        const fields = keyFields.get(hash) ?? {};
        if (kept === null) await this.store.addKey(tenant.id, { keyId: fileKeyId(hash), hash, createdAt, expiresAt: fields.expiresAt ?? null, name: fields.name ?? null, disabled: fields.disabled ?? false, rateLimit: fields.rateLimit ?? null });
        else if ((await this.store.lookupKey(hash))?.tenantId !== tenant.id && !expired(kept)) await this.store.addKey(tenant.id, kept);
        keys++;
      }
    }
    this.logger.info({ category: 'system', tenants: entries.length, keys }, 'TENANTS_FILE loaded');
    // Replicas already running may hold these tenants in cache: tell them, as an admin change would.
    if (entries.length > MAX_TENANT_MESSAGES) await this.invalidator.changed({ all: true });
    else for (const { tenant } of entries) await this.invalidator.changed({ tenantId: tenant.id });
  }
}
