import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DEMO_AUDIENCE, startDemoIdp, startDemoUpstream, type DemoServer } from './demo-servers';

/**
 * `npm run demo` (SPEC §16): the built gateway (dist/main.js) on the in-memory store, a demo upstream
 * and a demo identity provider, a tenant and its key created through the admin API, and commands to
 * copy and paste. Everything listens on 127.0.0.1; Ctrl-C stops all of it.
 */

const MAIN = resolve(__dirname, '../main.js');
const START_TIMEOUT_MS = 15_000;
/** What the demo tenant may send per minute: small, so that a burst shows the limit. */
const RATE_LIMIT = 5;

const say = (text = '') => process.stdout.write(text + '\n');

async function waitForHealth(url: string, gateway: ChildProcess, logFile: string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (gateway.exitCode !== null) throw new Error(`the gateway exited (code ${gateway.exitCode}): see ${logFile}`);
    const ok = await fetch(`${url}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the gateway did not answer ${url}/healthz within ${START_TIMEOUT_MS} ms: see ${logFile}`);
}

async function admin<T>(gw: string, token: string, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(gw + path, {
    method,
    headers: { 'X-Admin-Token': token, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${text}`);
  return JSON.parse(text) as T;
}

/** The gateway with only what the demo sets: no Redis variables, so it runs on the in-memory store. */
function gatewayEnv(port: string, adminToken: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, HOST: '127.0.0.1', PORT: port, ADMIN_TOKEN: adminToken, LOG_LEVEL: 'info', JWKS_ALLOW_HTTP: 'false' };
  for (const name of Object.keys(env)) if (name.startsWith('REDIS_') || name === 'TENANTS_FILE' || name === 'WORKERS') delete env[name];
  return env;
}

function commands(gw: string, key: string, idp: string, adminToken: string): string[] {
  const api = (path: string, extra = '') => `curl -si -H "X-API-Key: $KEY"${extra} "$GW/api${path}"`;
  return [
    `export GW=${gw} KEY=${key} IDP=${idp} SAG_URL=${gw} SAG_ADMIN_TOKEN=${adminToken}`,
    '',
    '# 1. An allowed call: 200, answered by the demo upstream',
    api('/public/hello'),
    '# 2. A route the tenant does not allow: 403 route_not_allowed',
    api('/billing'),
    '# 3. A route that needs a JWT, without one: 401 missing_jwt',
    api('/private/profile'),
    '# 4. The same with a valid JWT from the demo identity provider: 200',
    api('/private/profile', ' -H "Authorization: Bearer $(curl -s "$IDP/token")"'),
    `# 5. A burst over the rate limit (${RATE_LIMIT} per minute): 200s, then 429 rate_limited`,
    `for i in 1 2 3 4 5 6 7 8; do curl -s -o /dev/null -w '%{http_code} ' -H "X-API-Key: $KEY" "$GW/api/public/hello"; done; echo`,
    '# 6. Why a request is allowed or denied, step by step, with the admin CLI',
    'npx sag explain --api-key "$KEY" GET /private/profile',
  ];
}

async function main(): Promise<void> {
  const port = process.env.PORT ?? '3000';
  const gw = `http://127.0.0.1:${port}`;
  const adminToken = randomBytes(24).toString('base64url');
  const running: { upstream?: DemoServer; idp?: DemoServer; gateway?: ChildProcess } = {};
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    const gateway = running.gateway;
    if (gateway && gateway.exitCode === null) {
      const exited = new Promise((done) => gateway.once('exit', done));
      gateway.kill('SIGTERM');
      const timer = setTimeout(() => gateway.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    await Promise.all([running.upstream?.close(), running.idp?.close()]);
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));

  try {
    running.upstream = await startDemoUpstream();
    const idp = await startDemoIdp();
    running.idp = idp;
    const logFile = join(tmpdir(), `gateway-demo-${process.pid}.log`);
    const log = createWriteStream(logFile);
    const gateway = spawn(process.execPath, [MAIN], { env: gatewayEnv(port, adminToken), stdio: ['ignore', 'pipe', 'pipe'] });
    running.gateway = gateway;
    gateway.stdout?.pipe(log);
    gateway.stderr?.pipe(log);
    gateway.once('exit', (code) => {
      if (stopping) return;
      process.stderr.write(`demo: the gateway stopped (code ${code}): see ${logFile}\n`);
      void stop(1);
    });
    await waitForHealth(gw, gateway, logFile);

    await admin(gw, adminToken, 'POST', '/admin/tenants', {
      id: 'demo',
      name: 'Demo tenant',
      upstreamBaseUrl: running.upstream.url,
      allowedRoutes: [{ path: '/public', auth: { jwt: false } }, { path: '/private' }],
      rateLimit: { windowSeconds: 60, maxRequests: RATE_LIMIT },
      idp: { issuer: idp.issuer, jwksUri: idp.jwksUri, audience: DEMO_AUDIENCE, algorithms: ['RS256'] },
    });
    const { apiKey } = await admin<{ apiKey: string }>(gw, adminToken, 'POST', '/admin/tenants/demo/keys', {});

    say(`Demo gateway on ${gw} (in-memory store; its JSON logs go to ${logFile}).`);
    say(`Tenant "demo": upstream ${running.upstream.url} (echoes what it receives), identity provider ${idp.url},`);
    say(`routes /public (no JWT) and /private (JWT from the identity provider), ${RATE_LIMIT} requests per minute.`);
    say();
    say('Copy and paste, in another terminal:');
    say();
    for (const line of commands(gw, apiKey, idp.url, adminToken)) say(line === '' ? '' : `  ${line}`);
    say();
    say('Press Ctrl-C to stop the demo.');
  } catch (err) {
    process.stderr.write(`demo: ${err instanceof Error ? err.message : String(err)}\n`);
    if (port === '3000') process.stderr.write('demo: set PORT to run the gateway on another port\n');
    await stop(1);
  }
}

void main();
