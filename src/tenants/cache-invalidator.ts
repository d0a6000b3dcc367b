import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/config.types';
import { LOGGER, type Logger } from '../observability/logger';
import { STATE_STORE, type Invalidation, type StateStore } from '../store/store.port';
import { TenantResolver } from './tenant-resolver';
import { errorMessage } from '../errors/error-message';

/** How often a publish that failed is tried again. */
const RETRY_EVERY_MS = 250;

/**
 * Keeps every replica's tenant caches in step with changes made through the control plane
 * (SPEC §6: within 1 s). Each invalidation from any replica, and a full resync whenever the
 * subscription comes back, reaches this replica's resolver.
 */
@Injectable()
export class CacheInvalidator implements OnApplicationShutdown {
  /** What failed to go out: one tenant, or everything once failures named several. */
  private pending: Invalidation | null = null;
  private retryUntil = 0;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(
    @Inject(STATE_STORE) private readonly store: StateStore,
    @Inject(TenantResolver) private readonly resolver: TenantResolver,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(GATEWAY_CONFIG) private readonly config: Pick<GatewayConfig, 'tenantCacheTtlMs'>,
  ) {
    store.onInvalidation((msg) => resolver.invalidate(msg));
  }

  /**
   * Called after a change was written: drops this replica's stale answers at once (never waiting for
   * its own message), then tells the others. The change is already stored, so a failed publish
   * must not fail it: it is retried every 250 ms until it goes out or TENANT_CACHE_TTL_MS has
   * passed, after which every other replica has reloaded the tenant by itself anyway.
   */
  async changed(msg: Invalidation): Promise<void> {
    this.resolver.invalidate(msg);
    try {
      await this.store.publishInvalidation(msg);
    } catch (err) {
      this.logger.warn(
        { category: 'system', ...msg, error: errorMessage(err) },
        'cache invalidation not published: retrying; other replicas catch up within TENANT_CACHE_TTL_MS at the latest',
      );
      this.retryLater(msg);
    }
  }

  onApplicationShutdown(): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.pending = null;
  }

  private retryLater(msg: Invalidation): void {
    const same = this.pending !== null && 'tenantId' in this.pending && 'tenantId' in msg && this.pending.tenantId === msg.tenantId;
    this.pending = this.pending === null || same ? msg : { all: true };
    this.retryUntil = Date.now() + this.config.tenantCacheTtlMs;
    this.schedule();
  }

  private schedule(): void {
    // A change can fail while a retry is being published; both then ask for a timer, and one is enough.
    if (this.retryTimer !== undefined) return;
    this.retryTimer = setTimeout(() => void this.retry(), RETRY_EVERY_MS);
    this.retryTimer.unref();
  }

  private async retry(): Promise<void> {
    this.retryTimer = undefined;
    const msg = this.pending;
    if (msg === null) return;
    try {
      await this.store.publishInvalidation(msg);
      // A newer failure may have widened what is pending meanwhile: only clear what went out.
      if (this.pending === msg) this.pending = null;
      this.logger.info({ category: 'system', ...msg }, 'cache invalidation published after a retry');
    } catch {
      if (Date.now() < this.retryUntil) this.schedule();
      else this.pending = null;
      return;
    }
    if (this.pending !== null) this.schedule();
  }
}
