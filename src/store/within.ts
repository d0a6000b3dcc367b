import { StoreUnavailableError } from './store.port';

/**
 * Resolves with p, or rejects with StoreUnavailableError (`no <what> within <ms> ms`) once ms have
 * passed: a store that does not answer in time counts as unavailable. A late answer is dropped.
 * One promise and one timer (cleared on the answer): this runs once per request on the data plane.
 */
export function within<T>(p: Promise<T>, ms: number, what = 'answer'): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new StoreUnavailableError(`no ${what} within ${ms} ms`)), ms);
    p.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      // The store's own error, passed on unchanged.
      (err: Error) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}
