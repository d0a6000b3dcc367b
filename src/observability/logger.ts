import pino, { type Logger } from 'pino';
import type { LogLevel } from '../config/config.types';

export type { Logger } from 'pino';
export const LOGGER = Symbol('LOGGER');

/** SPEC §8 categories; every line carries one. */
export type LogCategory = 'auth' | 'policy' | 'request' | 'admin' | 'system';

/**
 * Secrets are redacted here, at the logger, whatever a call site passes: headers objects under any
 * of these keys never reach stdout. Call sites log paths without query strings (see request-log).
 */
export const REDACTED_PATHS = [
  'apiKey',
  'token',
  'adminToken',
  'password',
  'headers.authorization',
  'headers["x-api-key"]',
  'headers["x-admin-token"]',
  'headers.cookie',
  'headers["set-cookie"]',
  '*.headers.authorization',
  '*.headers["x-api-key"]',
  '*.headers["x-admin-token"]',
  '*.headers.cookie',
  '*.headers["set-cookie"]',
];

export function createLogger(level: LogLevel, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    },
    destination ?? pino.destination({ dest: 1, sync: false }),
  );
}
