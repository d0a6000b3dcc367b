import type { AddressInfo } from 'node:net';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { createApp, listenAdmin, stopAdminListener } from '../../src/app.factory';
import { loadConfig } from '../../src/config/config.loader';
import type { GatewayConfig } from '../../src/config/config.types';
import type { CoreOptions } from '../../src/core.module';
import { capturedLogger } from './captured-logger';

export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef';

export interface TestGateway {
  url: string;
  /** The ADMIN_PORT listener's URL when ADMIN_PORT is set (0: a free port), else undefined. */
  adminUrl?: string;
  app: NestExpressApplication;
  config: Readonly<GatewayConfig>;
  /** Every log line written so far, parsed. */
  logs: Record<string, unknown>[];
  /** The raw log text, to search for secrets. */
  rawLogs(): string;
  close(): Promise<void>;
}

/**
 * Starts the gateway in-process exactly as main.ts builds it (createApp), on 127.0.0.1 and a free
 * port, configured from `env` like the real process, with its log lines captured. `tuning` shortens
 * JWKS timings so that cooldowns and outages can be exercised in seconds.
 */
export async function startGateway(
  env: Record<string, string | undefined> = {},
  tuning: Pick<CoreOptions, 'jwksCache'> = {},
): Promise<TestGateway> {
  const config = loadConfig({ ADMIN_TOKEN, LOG_LEVEL: 'info', ...env });
  const captured = capturedLogger(config.logLevel);
  const app = await createApp(config, captured.logger, tuning);
  await app.listen(0, '127.0.0.1');
  const port = (app.getHttpServer().address() as AddressInfo).port;
  const admin = config.adminPort === null ? null : await listenAdmin(app, config.adminPort, config.adminHost);
  return {
    url: `http://127.0.0.1:${port}`,
    ...(admin !== null && { adminUrl: `http://${admin.address}:${admin.port}` }),
    app,
    config,
    logs: captured.lines,
    rawLogs: captured.raw,
    close: async () => {
      await stopAdminListener(app);
      await app.close();
    },
  };
}
