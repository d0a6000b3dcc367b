import { execFileSync, spawnSync } from 'node:child_process';

/**
 * Tests of Redis behaviour need a real redis-server: REDIS_URL if set, else the one on PATH.
 * On a fresh machine, install it when we can (root + apt-get); otherwise fail with one line.
 */
export default function globalSetup(): void {
  if (process.env.REDIS_URL) return;
  if (spawnSync('redis-server', ['--version']).status === 0) return;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const hasApt = spawnSync('apt-get', ['--version']).status === 0;
  if (!isRoot || !hasApt) {
    throw new Error(
      'redis-server not found: install it (apt-get install -y redis-server) or set REDIS_URL to a Redis >= 6.2',
    );
  }
  process.stderr.write('redis-server not found: installing it with apt-get (needed by the Redis tests)...\n');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: ['ignore', 'ignore', 'inherit'], env });
  execFileSync('apt-get', ['install', '-y', '-qq', 'redis-server'], { stdio: ['ignore', 'ignore', 'inherit'], env });
}
