import { execFileSync, spawnSync } from 'node:child_process';

/**
 * Tests of Redis behaviour need a real redis-server: REDIS_URL if set, else the one on PATH.
 * On a fresh machine, install it when we can (root + apt-get); otherwise fail with one line.
 * The same for haproxy (the rolling-restart test).
 */
export default function globalSetup(): void {
  ensureRedis();
  // The rolling-restart test needs a real load balancer: install haproxy where we can, else that test says how.
  if (spawnSync('haproxy', ['-v']).status !== 0 && canInstall()) install('haproxy', 'needed by the rolling-restart test');
}

function canInstall(): boolean {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  return isRoot && spawnSync('apt-get', ['--version']).status === 0;
}

function install(pkg: string, why: string): void {
  process.stderr.write(`${pkg} not found: installing it with apt-get (${why})...\n`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: ['ignore', 'ignore', 'inherit'], env });
  execFileSync('apt-get', ['install', '-y', '-qq', pkg], { stdio: ['ignore', 'ignore', 'inherit'], env });
}

function ensureRedis(): void {
  if (process.env.REDIS_URL) return;
  if (spawnSync('redis-server', ['--version']).status === 0) return;
  if (!canInstall()) {
    throw new Error(
      'redis-server not found: install it (apt-get install -y redis-server) or set REDIS_URL to a Redis >= 6.2',
    );
  }
  install('redis-server', 'needed by the Redis tests');
}
