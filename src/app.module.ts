import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { ControlPlaneModule } from './control-plane/control-plane.module';
import { CoreModule, type CoreOptions } from './core.module';
import { DataPlaneModule } from './data-plane/data-plane.module';
import { ProblemFilter } from './http/problem.filter';

@Module({})
export class AppModule {
  static forRoot(options: CoreOptions): DynamicModule {
    return {
      module: AppModule,
      imports: [CoreModule.forRoot(options), DataPlaneModule, ControlPlaneModule],
      // One instance, also the data plane dispatcher's filter.
      providers: [ProblemFilter, { provide: APP_FILTER, useExisting: ProblemFilter }],
    };
  }
}
