import pino, { type Logger } from 'pino';
import type { LogLevel } from '../config/config.types';

export type { Logger } from 'pino';
export const LOGGER = Symbol('LOGGER');

/** SPEC §8 categories; every line carries one. */
export type LogCategory = 'auth' | 'policy' | 'request' | 'admin' | 'system';

/**
 * Secrets are redacted here, at the logger, whatever a call site passes: headers objects under any
 * of these keys never reach stdout. Call sites log paths without query strings (see request-context.middleware).
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
  'headers["proxy-authorization"]',
  '*.headers.authorization',
  '*.headers["x-api-key"]',
  '*.headers["x-admin-token"]',
  '*.headers.cookie',
  '*.headers["set-cookie"]',
  '*.headers["proxy-authorization"]',
];

/**
 * Errors logged under `err` keep their kind, message, code and stack (and their cause, the same way)
 * and nothing else: ioredis errors carry the command's arguments (key hashes, stored JSON), jose's
 * the token's claims, and other libraries other details of the request.
 */
export function serializeError(err: unknown, depth = 0): unknown {
  // Something thrown that is not an Error is logged by its kind only: its fields are unknown.
  if (!(err instanceof Error)) return typeof err === 'object' && err !== null ? { type: 'NonError' } : err;
  const code = (err as { code?: unknown }).code;
  return {
    type: err.name,
    message: err.message,
    ...((typeof code === 'string' || typeof code === 'number') && { code }),
    stack: err.stack,
    ...(err.cause !== undefined && depth < 3 && { cause: serializeError(err.cause, depth + 1) }),
  };
}

export type StdoutDestination = ReturnType<typeof pino.destination>;

/**
 * Linux writes up to this many bytes to a pipe at once, never interleaved with another writer's:
 * workers sharing one stdout write at most this much per write, whole lines only, so their lines
 * never mix (a line longer than this is the exception).
 */
export const ATOMIC_PIPE_WRITE = 4096;

/** Asynchronous stdout, so a log line costs the hot path no blocking write. */
export function stdoutDestination(opts: { sharedWithOtherProcesses?: boolean } = {}): StdoutDestination {
  const destination = pino.destination({ dest: 1, sync: false, ...(opts.sharedWithOtherProcesses && { maxWrite: ATOMIC_PIPE_WRITE }) });
  // A log reader that went away (EPIPE) must neither crash the gateway nor stop it: those lines are lost.
  destination.on('error', () => undefined);
  return destination;
}

/**
 * Writes what is buffered, then closes the destination. A pipe nobody reads any more cannot hold
 * the exit: after `ms` the destination is destroyed, else pino's exit hook would retry the write to
 * the dead pipe forever.
 */
export function closeDestination(destination: StdoutDestination, done: () => void, ms = 1000): void {
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    destination.destroy(); // a no-op once end() has closed it
    done();
  };
  const timer = setTimeout(finish, ms);
  destination.once('close', finish);
  destination.end();
}

/**
 * pino's isoTime, formatted once per millisecond rather than once per line: under load several lines
 * share a millisecond, and Date#toISOString was a visible part of a line's cost.
 */
export function cachedIsoTime(): () => string {
  let lastMs = -1;
  let text = '';
  return () => {
    const now = Date.now();
    if (now !== lastMs) {
      lastMs = now;
      text = `,"time":"${new Date(now).toISOString()}"`;
    }
    return text;
  };
}

export function createLogger(level: LogLevel, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: undefined,
      timestamp: cachedIsoTime(),
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      serializers: { err: serializeError },
    },
    destination ?? stdoutDestination(),
  );
}
