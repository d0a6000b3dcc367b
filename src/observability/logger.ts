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

export type StdoutDestination = ReturnType<typeof pino.destination>;

/** Asynchronous stdout, so a log line costs the hot path no blocking write. */
export function stdoutDestination(): StdoutDestination {
  const destination = pino.destination({ dest: 1, sync: false });
  // A log reader that went away (EPIPE) must neither crash the gateway nor stop it: those lines are lost.
  destination.on('error', () => undefined);
  return destination;
}

/**
 * Flushes what is buffered, then retires the destination: pino's exit hook would otherwise retry a
 * write to a closed pipe forever and the process would never exit.
 */
export function closeDestination(destination: StdoutDestination, done: () => void): void {
  destination.flush(() => {
    destination.destroy();
    done();
  });
}

export function createLogger(level: LogLevel, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    },
    destination ?? stdoutDestination(),
  );
}
