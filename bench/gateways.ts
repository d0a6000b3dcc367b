import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { Redis } from 'ioredis';
import { request, waitFor200 } from './http-client';
import type { GatewayName } from './options';
import { freePort, sleep, type BenchChild, type ChildRegistry } from './processes';

/**
 * The gateway configurations under test, each run as its own `node dist/main.js` process with its
 * tenant in a TENANTS_FILE:
 *   A  embedded memory store; API key + route (+ the rate limit every tenant has, set never to deny)
 *   B  a real redis-server; API key + route + rate limit (one bucket script per request)
 *   B-workers2  as B with WORKERS=2: a primary and two worker processes sharing the port, free to
 *      use both CPUs (on a 2-core machine they compete with the load generator and the upstream)
 *   C  as B, plus an RS256 JWT on every request, verified against a local JWKS server; the same
 *      token every time, so after the first request it is answered by the verified-token cache
 *   C-cold  as C, but every request carries another token: a pool of COLD_TOKENS tokens cycled
 *      through a cache of COLD_CACHE_SIZE entries, so every request misses and is verified in full
 */

export const DESCRIPTIONS: Record<GatewayName, string> = {
  A: 'memory store, API key + route',
  B: 'Redis, API key + route + rate limit',
  'B-workers2': 'as B, WORKERS=2 (two worker processes, not pinned to one CPU)',
  C: 'Redis, API key + route + rate limit + JWT (RS256), the same token on every request (verified-token cache)',
  'C-cold': 'as C, a new token on every request (every verification in full)',
};

/** C-cold's token pool and cache size: cycling more tokens than the LRU holds makes every request a miss. */
export const COLD_TOKENS = 2_000;
export const COLD_CACHE_SIZE = 1_000;
/** The environment each configuration adds to the common one. */
export const GATEWAY_ENV: Partial<Record<GatewayName, Record<string, string>>> = {
  'B-workers2': { WORKERS: '2' },
  'C-cold': { JWT_CACHE_SIZE: String(COLD_CACHE_SIZE) },
};

/** Configurations whose processes are not pinned to the proxy's CPU: workers are there to use every core. */
export const UNPINNED: readonly GatewayName[] = ['B-workers2'];

export const REPO_ROOT = join(__dirname, '..');
const GATEWAY_MAIN = join(REPO_ROOT, 'dist', 'main.js');
/** TENANT_CACHE_TTL_MS, set on every gateway (the gateway's default value): the Redis-cost check's lookup allowance depends on it. */
export const TENANT_CACHE_TTL_MS = 5000;
export const ADMIN_TOKEN = `bench-admin-${randomBytes(16).toString('hex')}`;

/** Every variable the gateway reads (SPEC §9): removed from the inherited environment so only ours apply. */
const GATEWAY_VARIABLES = [
  'PORT', 'HOST', 'REDIS_URL', 'REDIS_HOST', 'REDIS_PORT', 'REDIS_PASSWORD', 'REDIS_DB', 'REDIS_TLS',
  'REDIS_TLS_REJECT_UNAUTHORIZED', 'REDIS_CLUSTER_NODES', 'LOG_LEVEL', 'ADMIN_TOKEN', 'CORS_ORIGINS',
  'TENANT_CACHE_TTL_MS', 'TENANTS_FILE', 'UPSTREAM_TIMEOUT_MS', 'MAX_BODY_BYTES', 'RATE_LIMIT_FAILURE_MODE',
  'JWT_CLOCK_TOLERANCE_S', 'JWT_CACHE_SIZE', 'JWKS_ALLOW_HTTP', 'TRUST_PROXY', 'SHUTDOWN_GRACE_MS',
  'REDIS_SENTINELS', 'REDIS_SENTINEL_NAME', 'REDIS_SENTINEL_PASSWORD', 'CORS_ALLOWED_HEADERS', 'CORS_MAX_AGE',
  'ALLOW_UNDERSCORE_HEADERS', 'AUDIT_MAX_ENTRIES', 'ADMIN_PORT', 'ADMIN_HOST', 'METRICS_TOKEN', 'WORKERS', 'SHUTDOWN_DELAY_MS',
];

/** Far above anything a run can reach (the validator's maximum), refilled within a second. */
const NEVER_DENY = { windowSeconds: 1, maxRequests: 1_000_000_000 };
/** Room for the 1 GiB streamed upload of the memory test. */
const TWO_GIB = 2 * 1024 * 1024 * 1024;

const ISSUER = 'https://idp.bench.invalid/';
const AUDIENCE = 'gateway-bench';

export interface Identity {
  jwksFile: string;
  token: string;
  /** COLD_TOKENS more tokens, each for another subject (C-cold). */
  coldTokens: string[];
}

/** An RS256 key pair made with jose: the public half in a JWK Set file, and tokens valid for 2 hours. */
export async function makeIdentity(dir: string, coldTokens: number): Promise<Identity> {
  const kid = `bench-${randomBytes(4).toString('hex')}`;
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  const jwksFile = join(dir, 'jwks.json');
  writeFileSync(jwksFile, JSON.stringify({ keys: [jwk] }));
  const sign = (sub: string) =>
    new SignJWT({ sub }).setProtectedHeader({ alg: 'RS256', kid }).setIssuer(ISSUER).setAudience(AUDIENCE).setIssuedAt().setExpirationTime('2h').sign(privateKey);
  const token = await sign('bench-user');
  const cold: string[] = [];
  for (let i = 0; i < coldTokens; i += 100) {
    cold.push(...(await Promise.all(Array.from({ length: Math.min(100, coldTokens - i) }, (_, j) => sign(`bench-user-${i + j}`)))));
  }
  return { jwksFile, token, coldTokens: cold };
}

export interface GatewayTenant {
  tenantId: string;
  apiKey: string;
  /** Headers every benchmark request to this gateway carries. */
  headers: Record<string, string>;
  /** Bearer tokens to rotate through, one per request (C-cold); the headers then hold the first. */
  tokens?: string[];
}

/** Writes the TENANTS_FILE of configuration `name` and returns how to call its tenant. */
export function writeTenantsFile(dir: string, name: GatewayName, upstreamPort: number, jwksPort: number | null, identity: Identity | null): { file: string; tenant: GatewayTenant } {
  const tenantId = `bench-${name.toLowerCase()}`;
  const apiKey = `bench-key-${name.toLowerCase()}-${randomBytes(16).toString('hex')}`;
  const jwt = name === 'C' || name === 'C-cold';
  const routes: Record<string, unknown>[] = [
    { path: '/small', methods: ['GET'], ...(jwt && { auth: { jwt: true } }) },
    { path: '/large', methods: ['GET'], ...(jwt && { auth: { jwt: true } }) },
    // The WebSocket echo (upgrades are GETs).
    { path: '/ws', methods: ['GET'], ...(jwt && { auth: { jwt: true } }) },
  ];
  // The memory test's routes: a streamed upload and a streamed download.
  if (name === 'A') routes.push({ path: '/sink', methods: ['PUT'] }, { path: '/stream', methods: ['GET'] });
  const tenant: Record<string, unknown> = {
    id: tenantId,
    name: `Benchmark ${name}`,
    upstreamBaseUrl: `http://127.0.0.1:${upstreamPort}`,
    allowedRoutes: routes,
    rateLimit: NEVER_DENY,
    ...(name === 'A' && { maxBodyBytes: TWO_GIB }),
    apiKeys: [apiKey],
  };
  if (jwt) {
    if (jwksPort === null || identity === null) throw new Error('configuration C needs the JWKS server');
    // A loopback http: JWKS URI is allowed without JWKS_ALLOW_HTTP (SPEC §3).
    tenant.idp = { issuer: ISSUER, jwksUri: `http://127.0.0.1:${jwksPort}/.well-known/jwks.json`, audience: AUDIENCE, algorithms: ['RS256'] };
  }
  const file = join(dir, `tenants-${name}.json`);
  writeFileSync(file, JSON.stringify({ tenants: [tenant] }, null, 2));
  const headers: Record<string, string> = { 'x-api-key': apiKey };
  if (name === 'C') headers.authorization = `Bearer ${identity!.token}`;
  if (name !== 'C-cold') return { file, tenant: { tenantId, apiKey, headers } };
  headers.authorization = `Bearer ${identity!.coldTokens[0]}`;
  return { file, tenant: { tenantId, apiKey, headers, tokens: identity!.coldTokens } };
}

export interface RunningGateway {
  name: string;
  child: BenchChild;
  url: string;
}

export interface GatewayStart {
  label: string;
  tenantsFile: string;
  redisUrl: string | null;
  cwd: string;
  cpu: number | null;
  profileDir: string | null;
  /** Variables of this configuration only (GATEWAY_ENV). */
  env?: Record<string, string>;
}

/** Starts `node dist/main.js` with a clean environment and waits (bounded) until /readyz answers 200. */
export async function startGateway(registry: ChildRegistry, start: GatewayStart): Promise<RunningGateway> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const variable of GATEWAY_VARIABLES) delete env[variable];
  const port = await freePort();
  Object.assign(env, {
    PORT: String(port),
    HOST: '127.0.0.1',
    ADMIN_TOKEN,
    TENANTS_FILE: start.tenantsFile,
    TENANT_CACHE_TTL_MS: String(TENANT_CACHE_TTL_MS),
    ...(start.redisUrl !== null && { REDIS_URL: start.redisUrl }),
    ...start.env,
  });
  const nodeArgs = start.profileDir === null ? [] : ['--cpu-prof', '--cpu-prof-dir', start.profileDir, '--cpu-prof-name', `gateway-${start.label}-${Date.now()}.cpuprofile`];
  // cwd is the benchmark's scratch folder, so a developer's .env in the checkout does not leak in.
  const child = registry.start(`gateway ${start.label}`, process.execPath, [...nodeArgs, '-r', join(__dirname, 'orphan-guard.js'), GATEWAY_MAIN], {
    cpu: start.cpu,
    env,
    cwd: start.cwd,
    ipc: true,
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor200(`${url}/readyz`, 30_000, () => child.running);
  } catch (err) {
    throw new Error(`gateway ${start.label}: ${(err as Error).message}\n${child.stderr}`);
  }
  return { name: start.label, child, url };
}

/** One request through a proxy before measuring: a 401 or 403 here would make every figure meaningless. */
export async function checkProxies(url: string, headers: Record<string, string>, expectBytes: number, label: string): Promise<void> {
  const res = await request(url, { headers });
  if (res.status !== 200 || Buffer.byteLength(res.body) !== expectBytes) {
    throw new Error(`${label}: GET ${url} answered ${res.status} with ${Buffer.byteLength(res.body)} bytes (expected 200 with ${expectBytes}): ${res.body.slice(0, 300)}`);
  }
}

export interface RedisServer {
  url: string;
  port: number;
}

/** Starts `redis-server --port N --save '' --appendonly no` on a free port (under the watchdog) and waits for PING. */
export async function startRedisServer(registry: ChildRegistry, cpu: number | null): Promise<RedisServer> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const args = ['redis-server', '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
    const child = registry.startScript('redis-server', 'watchdog', args, cpu);
    const url = `redis://127.0.0.1:${port}`;
    if (await answersPing(url, () => child.running)) return { url, port };
    await child.stop();
    if (child.proc.exitCode === 127) throw new Error('redis-server is not on PATH: install it (apt-get install redis-server), or run BENCH_ONLY=A');
    // The port can be taken between probing and binding: try another.
    if (attempt >= 3) throw new Error(`redis-server did not start:\n${child.stderr}`);
  }
}

async function answersPing(url: string, alive: () => boolean): Promise<boolean> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline && alive()) {
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 500 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      if ((await client.ping()) === 'PONG') return true;
    } catch {
      // Not listening yet.
    } finally {
      client.disconnect();
    }
    await sleep(100);
  }
  return false;
}
