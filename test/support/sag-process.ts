import { execFile, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { REPO, startListening, stop } from './gateway-process';
import { canOwnServer, startRedis, type RedisHandle } from './redis-server';

/**
 * For the CLI tests: the built gateway (gateway-process.ts) run from a given directory, seen the way
 * these tests read it, and the built admin CLI (`node dist/cli/sag.js`, the package's bin). Every
 * process is ended by its PID.
 */

export const ROOT = REPO;
export const SAG = resolve(ROOT, 'dist/cli/sag.js');

export interface GatewayProcess {
  url: string;
  port: number;
  proc: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

function assertBuilt(file: string): void {
  if (!existsSync(file)) throw new Error(`${file} is missing: run \`npm run build\` first (npm test does it)`);
}

/** Starts dist/main.js on 127.0.0.1 and a free port with `env` (plus PATH) in `cwd`; resolves once /healthz answers. */
export async function spawnGateway(env: Record<string, string>, cwd: string): Promise<GatewayProcess> {
  const child = await startListening({ LOG_LEVEL: 'warn', ...env }, { cwd });
  return {
    url: child.url,
    port: child.port,
    proc: child.proc,
    output: () => child.stdout() + child.stderr(),
    // SIGTERM, then SIGKILL if it has not exited within 10 s.
    stop: async () => {
      await stop(child).catch(() => child.proc.kill('SIGKILL'));
    },
  };
}

export interface SagResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built sag with `args` and exactly `env` (plus PATH); bounded by `timeoutMs`. */
export function sag(args: string[], env: Record<string, string>, cwd: string, timeoutMs = 30_000): Promise<SagResult> {
  assertBuilt(SAG);
  return new Promise((done) => {
    execFile(
      process.execPath,
      [SAG, ...args],
      { cwd, env: { PATH: process.env.PATH ?? '', ...env }, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null;
        done({ code, stdout, stderr });
      },
    );
  });
}

/**
 * The stores the CLI tests run on: the embedded one, and a redis-server of the test's own (`--prune`
 * deletes every tenant a file does not name, so never a shared REDIS_URL) when one can be started here.
 */
export const SAG_STORES: [string, boolean][] = [
  ['the in-memory store', true],
  ['a real redis-server', canOwnServer],
];

/** The lines of sag's plan table (`+`, `~`, `-`, `=`), each squeezed to single spaces. */
export const planLines = (r: SagResult): string[] =>
  r.stdout
    .split('\n')
    .map((l) => l.replace(/\s+/g, ' ').trim())
    .filter((l) => /^[+~=-] /.test(l));

/**
 * For a describe block of SAG_STORES: the built gateway (with `adminToken`) on that store, started in
 * `cwd()` before the block's tests and stopped after them. `env()` is sag's environment for it;
 * `redis()` the block's own redis-server on the Redis store.
 */
export function gatewayPerStore(
  store: string,
  runnable: boolean,
  adminToken: string,
  cwd: () => string,
): { env: () => Record<string, string>; redis: () => RedisHandle | undefined } {
  let gw: GatewayProcess | undefined;
  let redis: RedisHandle | undefined;
  beforeAll(async () => {
    if (!runnable) return;
    if (store.includes('redis')) redis = await startRedis({ ownServer: true });
    gw = await spawnGateway({ ADMIN_TOKEN: adminToken, ...(redis ? { REDIS_URL: redis.url } : {}) }, cwd());
  }, 30_000);
  afterAll(async () => {
    await gw?.stop();
    await redis?.stop();
  });
  return { env: () => ({ SAG_URL: gw!.url, SAG_ADMIN_TOKEN: adminToken }), redis: () => redis };
}
