import { cachedIsoTime } from '../../../src/observability/logger';
import { capturedLogger } from '../../support/captured-logger';

describe('log timestamps', () => {
  afterEach(() => jest.useRealTimers());

  it('writes the ISO time of the line, as pino.stdTimeFunctions.isoTime does', () => {
    jest.useFakeTimers({ now: new Date('2026-03-01T12:00:00.123Z') });
    expect(cachedIsoTime()()).toBe(',"time":"2026-03-01T12:00:00.123Z"');
  });

  it('follows the clock from one millisecond to the next', () => {
    jest.useFakeTimers({ now: new Date('2026-03-01T12:00:00.123Z') });
    const time = cachedIsoTime();
    expect(time()).toContain('12:00:00.123Z');
    expect(time()).toContain('12:00:00.123Z');
    jest.setSystemTime(new Date('2026-03-01T12:00:00.124Z'));
    expect(time()).toContain('12:00:00.124Z');
    jest.setSystemTime(new Date('2026-03-01T12:00:01.000Z'));
    expect(time()).toContain('12:00:01.000Z');
  });

  it('stamps every line of the gateway logger with a parseable time', () => {
    const { logger, lines } = capturedLogger();
    const before = Date.now();
    logger.info({ category: 'system' }, 'one');
    const stamped = Date.parse(String(lines[0].time));
    expect(stamped).toBeGreaterThanOrEqual(before);
    expect(stamped).toBeLessThanOrEqual(Date.now());
  });
});
