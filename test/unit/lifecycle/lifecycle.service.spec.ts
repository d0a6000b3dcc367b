import type { ServerResponse } from 'node:http';
import { Lifecycle } from '../../../src/lifecycle/lifecycle.service';

afterEach(() => {
  jest.useRealTimers();
});

describe('Lifecycle', () => {
  it('is not shutting down until beginShutdown, then stays so', () => {
    const lifecycle = new Lifecycle();
    expect(lifecycle.shuttingDown).toBe(false);
    lifecycle.beginShutdown();
    expect(lifecycle.shuttingDown).toBe(true);
    lifecycle.beginShutdown();
    expect(lifecycle.shuttingDown).toBe(true);
  });

  it('counts the requests in flight', () => {
    const lifecycle = new Lifecycle();
    lifecycle.requestStarted();
    lifecycle.requestStarted();
    expect(lifecycle.inFlight).toBe(2);
    lifecycle.requestEnded();
    expect(lifecycle.inFlight).toBe(1);
  });

  it('resolves waitForIdle true at once when nothing is in flight', async () => {
    await expect(new Lifecycle().waitForIdle(0)).resolves.toBe(true);
  });

  it('resolves waitForIdle true when the last request ends, not before', async () => {
    jest.useFakeTimers();
    const lifecycle = new Lifecycle();
    lifecycle.requestStarted();
    lifecycle.requestStarted();
    let outcome: boolean | undefined;
    const waiting = lifecycle.waitForIdle(10_000).then((idle) => (outcome = idle));

    lifecycle.requestEnded();
    await Promise.resolve();
    expect(outcome).toBeUndefined();

    lifecycle.requestEnded();
    await expect(waiting).resolves.toBe(true);
    // The grace timer was cleared: nothing is left to fire.
    expect(jest.getTimerCount()).toBe(0);
  });

  it('wakes every waiter', async () => {
    const lifecycle = new Lifecycle();
    lifecycle.requestStarted();
    const waiters = [lifecycle.waitForIdle(10_000), lifecycle.waitForIdle(10_000)];
    lifecycle.requestEnded();
    await expect(Promise.all(waiters)).resolves.toEqual([true, true]);
  });

  it('resolves waitForIdle false when the timeout passes first', async () => {
    jest.useFakeTimers();
    const lifecycle = new Lifecycle();
    lifecycle.requestStarted();
    let outcome: boolean | undefined;
    const waiting = lifecycle.waitForIdle(1_000).then((idle) => (outcome = idle));

    jest.advanceTimersByTime(999);
    await Promise.resolve();
    expect(outcome).toBeUndefined();

    jest.advanceTimersByTime(1);
    await expect(waiting).resolves.toBe(false);
    expect(lifecycle.inFlight).toBe(1);
  });

  it('resolves false on timeout with real timers, within a bounded wait', async () => {
    const lifecycle = new Lifecycle();
    lifecycle.requestStarted();
    const started = Date.now();
    await expect(lifecycle.waitForIdle(30)).resolves.toBe(false);
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
  });
});

describe('Lifecycle.closeConnections (SPEC §11: Connection: close once the listener closes)', () => {
  const response = (headersSent = false) => ({ headersSent, shouldKeepAlive: true }) as unknown as ServerResponse;

  it('turns keep-alive off for responses in flight whose headers are not sent yet, and for every later one', () => {
    const lifecycle = new Lifecycle();
    const pending = response();
    const streaming = response(true);
    const finished = response();
    lifecycle.requestStarted(pending);
    lifecycle.requestStarted(streaming);
    lifecycle.requestStarted(finished);
    lifecycle.requestEnded(finished);

    const ended: number[] = [];
    lifecycle.closeConnections(() => ended.push(lifecycle.inFlight));
    expect(lifecycle.shuttingDown).toBe(true);
    expect(lifecycle.closingConnections).toBe(true);
    expect(pending.shouldKeepAlive).toBe(false);
    // Its headers already said keep-alive: its connection is closed once idle, by the callback below.
    expect(streaming.shouldKeepAlive).toBe(true);
    expect(finished.shouldKeepAlive).toBe(true);

    const later = response();
    lifecycle.requestStarted(later);
    expect(later.shouldKeepAlive).toBe(false);
    lifecycle.requestEnded(later);
    lifecycle.requestEnded(streaming);
    expect(ended).toEqual([2, 1]);
  });

  it('keeps keep-alive as it is before the listener closes', () => {
    const lifecycle = new Lifecycle();
    lifecycle.beginShutdown();
    const res = response();
    lifecycle.requestStarted(res);
    expect(res.shouldKeepAlive).toBe(true);
    expect(lifecycle.closingConnections).toBe(false);
  });
});
