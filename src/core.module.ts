import { DynamicModule, Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { GATEWAY_CONFIG, type GatewayConfig } from './config/config.types';
import { Lifecycle } from './lifecycle/lifecycle.service';
import { LOGGER, type Logger } from './observability/logger';
import { createStateStore } from './store/store.factory';
import { STATE_STORE, type StateStore } from './store/store.port';
import { TenantResolver } from './tenants/tenant-resolver';
import { TenantRepository } from './tenants/tenant.repository';
import { TenantsFileLoader } from './tenants/tenants-file.loader';

export interface CoreOptions {
  config: Readonly<GatewayConfig>;
  logger: Logger;
}

/** Closes the store last, after the planes have stopped using it. */
class StoreCloser implements OnApplicationShutdown {
  constructor(@Inject(STATE_STORE) private readonly store: StateStore) {}
  async onApplicationShutdown(): Promise<void> {
    await this.store.close();
  }
}

/** The shared core both planes build on: config, logger, state store, tenants, lifecycle. */
@Global()
@Module({})
export class CoreModule {
  static forRoot({ config, logger }: CoreOptions): DynamicModule {
    return {
      module: CoreModule,
      providers: [
        { provide: GATEWAY_CONFIG, useValue: config },
        { provide: LOGGER, useValue: logger },
        {
          provide: STATE_STORE,
          useFactory: () =>
            createStateStore(config, (event, detail) => logger.info({ category: 'system', ...detail }, event)),
        },
        {
          provide: TenantRepository,
          inject: [STATE_STORE],
          useFactory: (store: StateStore) =>
            new TenantRepository(store, logger, { jwksAllowHttp: config.jwksAllowHttp }),
        },
        {
          provide: TenantResolver,
          inject: [STATE_STORE, TenantRepository],
          useFactory: (store: StateStore, repository: TenantRepository) =>
            new TenantResolver(store, repository, logger, { ttlMs: config.tenantCacheTtlMs }),
        },
        Lifecycle,
        TenantsFileLoader,
        StoreCloser,
      ],
      exports: [GATEWAY_CONFIG, LOGGER, STATE_STORE, TenantRepository, TenantResolver, Lifecycle],
    };
  }
}
