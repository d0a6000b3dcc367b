import { Writable } from 'node:stream';
import type { LogLevel } from '../../src/config/config.types';
import { createLogger, type Logger } from '../../src/observability/logger';

export interface CapturedLogger {
  logger: Logger;
  /** Every line written so far, parsed; the array grows as lines are written. */
  lines: Record<string, unknown>[];
  /** The raw text, to search for secrets. */
  raw(): string;
}

/** The gateway's own logger (redaction included) writing into memory instead of stdout. */
export function capturedLogger(level: LogLevel = 'info'): CapturedLogger {
  const text: string[] = [];
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line === '') continue;
        text.push(line);
        lines.push(JSON.parse(line) as Record<string, unknown>);
      }
      done();
    },
  });
  return { logger: createLogger(level, sink), lines, raw: () => text.join('\n') };
}
