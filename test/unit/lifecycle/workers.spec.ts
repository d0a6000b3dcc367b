import { restartDelayMs, workerCountOf } from '../../../src/lifecycle/workers';
import { availableParallelism } from 'node:os';
import { loadConfig } from '../../../src/config/config.loader';

describe('workers (SPEC §11)', () => {
  it('backs off restarts of a worker that keeps dying: 100 ms doubling, at most 10 s', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8].map(restartDelayMs)).toEqual([100, 200, 400, 800, 1600, 3200, 6400, 10_000]);
    expect(restartDelayMs(50)).toBe(10_000);
  });

  it('WORKERS=auto is one worker per CPU available to the process', () => {
    expect(workerCountOf(loadConfig({ WORKERS: 'auto', REDIS_URL: 'redis://127.0.0.1:6379' }))).toBe(availableParallelism());
    expect(workerCountOf(loadConfig({ WORKERS: '3', REDIS_URL: 'redis://127.0.0.1:6379' }))).toBe(3);
    expect(workerCountOf(loadConfig({}))).toBe(1);
  });
});
