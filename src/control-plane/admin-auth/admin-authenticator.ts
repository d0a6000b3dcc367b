import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { Inject, Injectable } from '@nestjs/common';
import { GATEWAY_CONFIG, type GatewayConfig } from '../../config/config.types';
import { STATE_STORE, type StateStore } from '../../store/store.port';
import { ADMIN_TOKEN_PREFIX, hashApiKey } from '../../tenants/api-key';
import type { Principal } from './principal';

const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

/**
 * Who an admin request's token speaks for. `X-Admin-Token` equal to ADMIN_TOKEN (constant-time over
 * fixed-length digests) is the operator; a `sat_` token is looked up by its SHA-256 in the store on
 * every request, so revoking it or deleting its tenant takes effect on every replica at once.
 * Anything else, an expired token included, is nobody (401).
 */
@Injectable()
export class AdminAuthenticator {
  private readonly operator: Buffer;
  private readonly scraper: Buffer | null;

  constructor(
    @Inject(GATEWAY_CONFIG) config: GatewayConfig,
    @Inject(STATE_STORE) private readonly store: StateStore,
  ) {
    if (!config.adminToken) throw new Error('ADMIN_TOKEN must be resolved before the control plane starts');
    this.operator = digest(config.adminToken);
    this.scraper = config.metricsToken === null ? null : digest(config.metricsToken);
  }

  /**
   * The principal, or null when the token is missing or wrong. Rejects StoreUnavailableError when a
   * tenant token cannot be checked. On /metrics (`scrape`), the token may also come as
   * `Authorization: Bearer` (how Prometheus sends credentials), and METRICS_TOKEN counts.
   */
  async authenticate(req: IncomingMessage, scrape = false): Promise<Principal | null> {
    const token = scrape ? (req.headers['x-admin-token'] ?? bearerOf(req.headers.authorization)) : req.headers['x-admin-token'];
    if (typeof token !== 'string' || token === '') return null;
    const presented = digest(token);
    if (timingSafeEqual(presented, this.operator)) return { kind: 'operator' };
    if (scrape && this.scraper !== null && timingSafeEqual(presented, this.scraper)) return { kind: 'metrics' };
    if (!token.startsWith(ADMIN_TOKEN_PREFIX)) return null;
    const record = await this.store.tokenByHash(hashApiKey(token));
    if (record === null) return null;
    if (record.expiresAt !== null && Date.parse(record.expiresAt) <= Date.now()) return null;
    return { kind: 'tenant', tenantId: record.tenantId, tokenId: record.tokenId, role: record.role };
  }
}

/** The credentials of `Authorization: Bearer <token>` (RFC 6750: the scheme is case-insensitive). */
function bearerOf(header: string | undefined): string | undefined {
  const match = header === undefined ? null : /^Bearer +(\S+)$/i.exec(header);
  return match?.[1];
}
