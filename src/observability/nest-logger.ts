import type { LoggerService } from '@nestjs/common';
import type { Logger } from './logger';

/** Nest's own messages (module wiring, route mapping) as `system` lines; its chatter at debug. */
export class NestLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}
  log(message: unknown, context?: string): void {
    this.logger.debug({ category: 'system', context }, String(message));
  }
  error(message: unknown, trace?: string, context?: string): void {
    this.logger.error({ category: 'system', context, trace }, String(message));
  }
  warn(message: unknown, context?: string): void {
    this.logger.warn({ category: 'system', context }, String(message));
  }
  debug(message: unknown, context?: string): void {
    this.logger.debug({ category: 'system', context }, String(message));
  }
  verbose(message: unknown, context?: string): void {
    this.logger.trace({ category: 'system', context }, String(message));
  }
}
