import { StoreUnavailableError } from '../../../src/store/store.port';
import { within } from '../../../src/store/within';

describe('within', () => {
  afterEach(() => jest.useRealTimers());

  it('passes on an answer that comes in time', async () => {
    await expect(within(Promise.resolve('pong'), 1000)).resolves.toBe('pong');
  });

  it('passes on a failure that comes in time', async () => {
    const err = new Error('WRONGTYPE');
    await expect(within(Promise.reject(err), 1000)).rejects.toBe(err);
  });

  it('counts a store that does not answer in time as unavailable, naming what it waited for', async () => {
    jest.useFakeTimers();
    const waiting = within(new Promise<never>(() => undefined), 250, 'bucket answer');
    jest.advanceTimersByTime(250);
    await expect(waiting).rejects.toThrow(new StoreUnavailableError('no bucket answer within 250 ms'));
    await expect(waiting).rejects.toBeInstanceOf(StoreUnavailableError);
  });
});
