import { StoreUnavailableError } from './store.port';

/**
 * Resolves with p, or rejects with StoreUnavailableError (`no <what> within <ms> ms`) once ms have
 * passed: a store that does not answer in time counts as unavailable. A late answer is dropped.
 */
export function within<T>(p: Promise<T>, ms: number, what = 'answer'): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StoreUnavailableError(`no ${what} within ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}
