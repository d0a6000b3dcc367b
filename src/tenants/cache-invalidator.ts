import { Inject, Injectable } from '@nestjs/common';
import { LOGGER, type Logger } from '../observability/logger';
import { STATE_STORE, type Invalidation, type StateStore } from '../store/store.port';
import { TenantResolver } from './tenant-resolver';

/**
 * Keeps every replica's tenant caches in step with changes made through the control plane
 * (SPEC §6: within 1 s). Each invalidation from any replica, and a full resync whenever the
 * subscription comes back, reaches this replica's resolver.
 */
@Injectable()
export class CacheInvalidator {
  constructor(
    @Inject(STATE_STORE) private readonly store: StateStore,
    @Inject(TenantResolver) private readonly resolver: TenantResolver,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    store.onInvalidation((msg) => resolver.invalidate(msg));
  }

  /**
   * Called after a change was written: drops this replica's stale answers at once (never waiting for
   * its own message), then tells the others. The change is already stored, so a failed publish
   * must not fail it: the other replicas converge within TENANT_CACHE_TTL_MS.
   */
  async changed(msg: Invalidation): Promise<void> {
    this.resolver.invalidate(msg);
    try {
      await this.store.publishInvalidation(msg);
    } catch (err) {
      this.logger.warn(
        { category: 'system', ...msg, error: err instanceof Error ? err.message : String(err) },
        'cache invalidation not published: other replicas catch up within TENANT_CACHE_TTL_MS',
      );
    }
  }
}
