import { SingleFlight } from '../../../src/tenants/single-flight';

/** A read whose answer the test gives when it chooses. */
function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (err: Error) => void } {
  let resolve!: (value: T) => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('SingleFlight', () => {
  it('runs one read per key while it is in flight, and every caller gets its answer', async () => {
    const flights = new SingleFlight<string, string>();
    const reply = deferred<string>();
    const read = jest.fn(() => reply.promise);

    const callers = [flights.run('a', read), flights.run('a', read), flights.run('a', read)];
    reply.resolve('answer');

    await expect(Promise.all(callers)).resolves.toEqual(['answer', 'answer', 'answer']);
    expect(read).toHaveBeenCalledTimes(1);
  });

  it('keeps keys apart', async () => {
    const flights = new SingleFlight<string, string>();
    const read = jest.fn((key: string) => Promise.resolve(`answer ${key}`));

    await expect(Promise.all([flights.run('a', () => read('a')), flights.run('b', () => read('b'))])).resolves.toEqual([
      'answer a',
      'answer b',
    ]);
    expect(read).toHaveBeenCalledTimes(2);
  });

  it('forgets a read once it has answered: the next caller reads again', async () => {
    const flights = new SingleFlight<string, number>();
    let reads = 0;
    const read = (): Promise<number> => Promise.resolve(++reads);

    await expect(flights.run('a', read)).resolves.toBe(1);
    expect(flights.size).toBe(0);
    await expect(flights.run('a', read)).resolves.toBe(2);
  });

  it('shares a failure with every caller waiting, then forgets it', async () => {
    const flights = new SingleFlight<string, string>();
    const reply = deferred<string>();
    const callers = [flights.run('a', () => reply.promise), flights.run('a', () => reply.promise)];
    const failure = new Error('store down');
    reply.reject(failure);

    for (const caller of callers) await expect(caller).rejects.toBe(failure);
    expect(flights.size).toBe(0);
    await expect(flights.run('a', () => Promise.resolve('recovered'))).resolves.toBe('recovered');
  });

  it('after clear(), a caller starts a new read; the old one answers its own callers and leaves the new one in place', async () => {
    const flights = new SingleFlight<string, string>();
    const oldReply = deferred<string>();
    const newReply = deferred<string>();
    const old = flights.run('a', () => oldReply.promise);

    flights.clear();
    const fresh = flights.run('a', () => newReply.promise);
    oldReply.resolve('old');
    await expect(old).resolves.toBe('old');

    expect(flights.size).toBe(1);
    const joined = flights.run('a', () => Promise.resolve('a third read'));
    newReply.resolve('new');
    await expect(Promise.all([fresh, joined])).resolves.toEqual(['new', 'new']);
    expect(flights.size).toBe(0);
  });

  it('start() runs a read nobody waits on: callers may join it, and its failure goes nowhere', async () => {
    const flights = new SingleFlight<string, string>();
    const reply = deferred<string>();
    const read = jest.fn(() => reply.promise);

    flights.start('a', read);
    flights.start('a', read);
    const joined = flights.run('a', read);
    expect(read).toHaveBeenCalledTimes(1);
    reply.resolve('answer');
    await expect(joined).resolves.toBe('answer');

    flights.start('a', () => Promise.reject(new Error('store down')));
    await Promise.resolve();
    await Promise.resolve();
    expect(flights.size).toBe(0);
  });
});
